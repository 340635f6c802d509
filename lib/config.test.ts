import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfigFile, envVarName, loadConfig } from "./config.ts";
import { PhotonError } from "./errors.ts";

const dir = mkdtempSync(join(tmpdir(), "photon-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function tomlFile(text: string): string {
  const path = join(dir, `photon-${++fileCount}.toml`);
  writeFileSync(path, text);
  return path;
}

/** The CONFIG:Invalid error `fn` throws. */
function configError(fn: () => unknown): PhotonError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PhotonError);
    expect((e as PhotonError).code).toBe("CONFIG:Invalid");
    return e as PhotonError;
  }
  throw new Error("expected CONFIG:Invalid, nothing was thrown");
}

describe("loadConfig defaults", () => {
  it("gives a working all-in-one configuration with no file, env or flags", () => {
    const config = loadConfig({ env: {} });
    expect(config).toEqual({
      node: { name: hostname(), data_dir: "./data", bind_host: "127.0.0.1", advertise_host: "127.0.0.1" },
      admin: { http_port: 7070 },
      tls: { enabled: false, require_client_cert: false },
      engine: { block_cache_mb: 64, write_buffer_mb: 32, compression: true },
      chainfire: { client_port: 2379, http_port: 2381, peer_port: 2380, join: "", quota_bytes: 2 * 1024 ** 3 },
      iam: { http_port: 7080, grpc_port: 7081, issuer: "", kek_file: "", key_rotation_seconds: 7 * 24 * 3600 },
      novanet: {
        http_port: 7090, grpc_port: 7091, vni_min: 4096, vni_max: 65535, external_cidr: "", external_gateway: "", external_pool_start: "", external_pool_end: "", external_cidr6: "", external_gateway6: "",
        quota_vpcs: 10, quota_subnets: 50, quota_ports: 500, quota_secgroups: 50, quota_rules: 500, quota_routers: 10, quota_fips: 50,
        agent_host: "", agent_underlay_ip: "", agent_external_bridge: "", agent_resync_seconds: 30, agent_packet_cpus: "", agent_http_port: 7092,
        dataplane: "linux", ovn_nb_writer: false, ovn_nb_remote: "unix:/var/run/ovn/ovnnb_db.sock", ovn_ovs_remote: "unix:/var/run/openvswitch/db.sock",
        ovn_bridge: "br-int", ovn_gateway_chassis: "", ovn_external_network: "", ovn_mtu: 1442, ovn_disable_tx_offload: false,
      },
      lightningstor: { s3_port: 9000, region: "us-east-1", domain: "", max_object_mb: 5 * 1024, key_cache_seconds: 10 },
      plasmavmc: {
        http_port: 7100, grpc_port: 7101, image_max_bytes: 20 * 1024 ** 3, quota_vms: 20, quota_vcpus: 40, quota_memory_mib: 81920, quota_volumes: 20, quota_gigabytes: 1000, delete_wait_seconds: 30,
        agent_host: "", agent_vcpus: 0, agent_memory_mib: 0, agent_accel: "auto", agent_heartbeat_seconds: 10, agent_netns: "", agent_ns_prefix: "photon-", agent_console_port: 7102, agent_iam_url: "",
        local_agent: true, image_import_allow: [], create_sweep_grace_seconds: 120,
      },
    });
  });

  it("accepts an empty file", () => {
    expect(loadConfig({ file: tomlFile(""), env: {} }).admin.http_port).toBe(7070);
  });

  it("returns a frozen object", () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.node)).toBe(true);
  });
});

describe("loadConfig layering", () => {
  const file = tomlFile(`
[node]
name = "n1"
data_dir = "/var/lib/photon"

[admin]
http_port = 9000

[engine]
compression = false
`);

  it("reads values from the TOML file over defaults", () => {
    const config = loadConfig({ file, env: {} });
    expect(config.node.name).toBe("n1");
    expect(config.node.data_dir).toBe("/var/lib/photon");
    expect(config.node.bind_host).toBe("127.0.0.1");
    expect(config.admin.http_port).toBe(9000);
    expect(config.engine.compression).toBe(false);
  });

  it("lets environment variables override the file", () => {
    const config = loadConfig({ file, env: { PHOTON_NODE_DATA_DIR: "/x", PHOTON_ADMIN_HTTP_PORT: "9100" } });
    expect(config.node.data_dir).toBe("/x");
    expect(config.admin.http_port).toBe(9100);
    expect(config.node.name).toBe("n1");
  });

  it("lets flags override environment variables", () => {
    const config = loadConfig({
      file,
      env: { PHOTON_NODE_DATA_DIR: "/x" },
      flags: { "node.data_dir": "/y", "engine.block_cache_mb": "256" },
    });
    expect(config.node.data_dir).toBe("/y");
    expect(config.engine.block_cache_mb).toBe(256);
  });

  it("reads process.env when no env is given", () => {
    process.env.PHOTON_ENGINE_WRITE_BUFFER_MB = "48";
    try {
      expect(loadConfig().engine.write_buffer_mb).toBe(48);
    } finally {
      delete process.env.PHOTON_ENGINE_WRITE_BUFFER_MB;
    }
  });

  it("coerces booleans from true/false/1/0", () => {
    expect(loadConfig({ env: { PHOTON_ENGINE_COMPRESSION: "0" } }).engine.compression).toBe(false);
    expect(loadConfig({ env: { PHOTON_ENGINE_COMPRESSION: "false" } }).engine.compression).toBe(false);
    expect(loadConfig({ env: {}, flags: { "engine.compression": "TRUE" } }).engine.compression).toBe(true);
    expect(loadConfig({ env: {}, flags: { "engine.compression": "1" } }).engine.compression).toBe(true);
  });

  it("treats an empty environment variable as unset", () => {
    expect(loadConfig({ env: { PHOTON_ADMIN_HTTP_PORT: "" } }).admin.http_port).toBe(7070);
  });

  it("ignores PHOTON_LOG_LEVEL, unrelated variables and PHOTON_ variables of unknown sections", () => {
    const config = loadConfig({ env: { PHOTON_LOG_LEVEL: "debug", HOME: "/root", PHOTON_SOMETHING_ELSE: "1" } });
    expect(config.admin.http_port).toBe(7070);
  });

  it("configures TLS with mTLS when the files are given", () => {
    const config = loadConfig({
      env: {
        PHOTON_TLS_ENABLED: "true",
        PHOTON_TLS_CERT_FILE: "/c.pem",
        PHOTON_TLS_KEY_FILE: "/k.pem",
        PHOTON_TLS_CA_FILE: "/ca.pem",
        PHOTON_TLS_REQUIRE_CLIENT_CERT: "1",
      },
    });
    expect(config.tls).toEqual({
      enabled: true,
      cert_file: "/c.pem",
      key_file: "/k.pem",
      ca_file: "/ca.pem",
      require_client_cert: true,
    });
  });

  it("names the environment variable of a key", () => {
    expect(envVarName("node", "data_dir")).toBe("PHOTON_NODE_DATA_DIR");
  });
});

describe("loadConfig rejects", () => {
  it("an unknown key in the file, naming it and the file", () => {
    const file = tomlFile(`[node]\ndta_dir = "/x"\n`);
    expect(configError(() => loadConfig({ file, env: {} })).message).toBe(`config: unknown key "node.dta_dir" in ${file}`);
  });

  it("an unknown section in the file", () => {
    const file = tomlFile(`[nod]\ndata_dir = "/x"\n`);
    expect(configError(() => loadConfig({ file, env: {} })).message).toBe(`config: unknown section "nod" in ${file}`);
  });

  it("a section that is not a table", () => {
    const file = tomlFile(`node = 3\n`);
    expect(configError(() => loadConfig({ file, env: {} })).message).toBe(`config: node: expected a table, got 3 (in ${file})`);
  });

  it("a value of the wrong type in the file", () => {
    const file = tomlFile(`[admin]\nhttp_port = "7070"\n`);
    expect(configError(() => loadConfig({ file, env: {} })).message).toBe(
      `config: admin.http_port: expected integer, got "7070" (in ${file})`,
    );
  });

  it("a float where an integer is expected", () => {
    const file = tomlFile(`[engine]\nblock_cache_mb = 1.5\n`);
    expect(configError(() => loadConfig({ file, env: {} })).message).toBe(
      `config: engine.block_cache_mb: expected integer, got 1.5 (in ${file})`,
    );
  });

  it("an out-of-range port", () => {
    expect(configError(() => loadConfig({ env: {}, flags: { "admin.http_port": "70000" } })).message).toBe(
      "config: admin.http_port: must be <= 65535, got 70000 (from flag --admin.http_port)",
    );
  });

  it("an environment variable that is not an integer, naming the variable", () => {
    expect(configError(() => loadConfig({ env: { PHOTON_ADMIN_HTTP_PORT: "abc" } })).message).toBe(
      'config: admin.http_port: expected integer, got "abc" (from PHOTON_ADMIN_HTTP_PORT)',
    );
  });

  it("a boolean spelled other than true/false/1/0", () => {
    expect(configError(() => loadConfig({ env: { PHOTON_TLS_ENABLED: "yes" } })).message).toBe(
      'config: tls.enabled: expected boolean (true/false/1/0), got "yes" (from PHOTON_TLS_ENABLED)',
    );
  });

  it("a typo in an environment variable of a known section", () => {
    expect(configError(() => loadConfig({ env: { PHOTON_NODE_DTA_DIR: "/x" } })).message).toBe(
      'config: unknown key "node.dta_dir" from PHOTON_NODE_DTA_DIR',
    );
  });

  it("an environment variable in lower case", () => {
    expect(configError(() => loadConfig({ env: { PHOTON_NODE_data_dir: "/x" } })).message).toBe(
      "config: PHOTON_NODE_data_dir: environment variable names are upper case (PHOTON_NODE_DATA_DIR)",
    );
  });

  it("an unknown flag", () => {
    expect(configError(() => loadConfig({ env: {}, flags: { "node.dta_dir": "/x" } })).message).toBe(
      'config: unknown key "node.dta_dir" from flag --node.dta_dir',
    );
    expect(configError(() => loadConfig({ env: {}, flags: { verbose: "1" } })).message).toBe(
      'config: unknown section "verbose" from flag --verbose',
    );
  });

  it("TLS enabled without a certificate and key", () => {
    const e = configError(() => loadConfig({ env: { PHOTON_TLS_ENABLED: "true" } }));
    expect(e.message).toBe(
      "config: tls.cert_file: required when tls.enabled is true\nconfig: tls.key_file: required when tls.enabled is true",
    );
    expect(e.details).toEqual({ problems: e.message.split("\n") });
  });

  it("mTLS without a CA", () => {
    const e = configError(() =>
      loadConfig({ env: {}, flags: { "tls.enabled": "true", "tls.cert_file": "/c", "tls.key_file": "/k", "tls.require_client_cert": "true" } }),
    );
    expect(e.message).toBe("config: tls.ca_file: required when tls.require_client_cert is true");
  });

  it("reports every problem, one line each", () => {
    const e = configError(() => loadConfig({ env: { PHOTON_ADMIN_HTTP_PORT: "x", PHOTON_ENGINE_COMPRESION: "1" } }));
    expect(e.message.split("\n")).toEqual([
      'config: admin.http_port: expected integer, got "x" (from PHOTON_ADMIN_HTTP_PORT)',
      'config: unknown key "engine.compresion" from PHOTON_ENGINE_COMPRESION',
    ]);
  });

  it("a missing file given explicitly, naming the path", () => {
    const path = join(dir, "absent.toml");
    expect(configError(() => loadConfig({ file: path, env: {} })).message).toBe(`config: cannot read ${path}: no such file`);
  });

  it("a file that is not TOML, with the line and column", () => {
    const file = tomlFile(`[node]\nname = \n`);
    expect(configError(() => loadConfig({ file, env: {} })).message).toBe(
      `config: invalid TOML in ${file} at line 2, column 8: invalid value`,
    );
  });
});

describe("checkConfigFile", () => {
  it("returns the configuration a valid file describes, ignoring the environment", () => {
    process.env.PHOTON_ADMIN_HTTP_PORT = "not-a-number";
    try {
      expect(checkConfigFile(tomlFile(`[admin]\nhttp_port = 8080\n`)).admin.http_port).toBe(8080);
    } finally {
      delete process.env.PHOTON_ADMIN_HTTP_PORT;
    }
  });

  it("throws CONFIG:Invalid for a bad file", () => {
    const file = tomlFile(`[tls]\nenabeld = true\n`);
    expect(configError(() => checkConfigFile(file)).message).toBe(`config: unknown key "tls.enabeld" in ${file}`);
  });
});
