/**
 * The one configuration schema of PhotonCloud (`photon.toml`). One strict zod object per TOML
 * section; `lib/config.ts` layers the file, `PHOTON_<SECTION>_<KEY>` environment variables and
 * command-line flags over the defaults below and validates the result against this schema.
 *
 * Design constraints, so that every key has exactly one environment variable and one flag:
 * - a section is a flat table: its values are integers, booleans, strings, string enums or lists of
 *   strings (no nested tables, no floats); `config-schema.test.ts` enforces it;
 * - section and key names are snake_case (`data_dir`, never `dataDir`);
 * - every key has a default that works for the all-in-one on one machine, or is optional.
 *
 * To add a section: declare `xxxSection` here, add it to `configSections`, and document its keys.
 */
import { hostname } from "node:os";
import { z } from "zod";

/** A TCP port; 0 asks the OS for a free one (tests, ephemeral listeners). */
export const portSchema = z.number().int().min(0).max(65535);

/** A filesystem path; relative paths resolve against the working directory of the process. */
const pathSchema = z.string().min(1, "must not be empty");

/** A host name or IP address to bind to or advertise. */
const hostSchema = z.string().min(1, "must not be empty");

/** `[node]`: who this process is and where it keeps its data. */
export const nodeSection = z
  .object({
    /** The node's name in the cluster; defaults to the machine's hostname. */
    name: z.string().min(1, "must not be empty").default(() => hostname()),
    /** Root of all on-disk state; each service uses `<data_dir>/<service>/`. */
    data_dir: pathSchema.default("./data"),
    /** Address every listener binds to; loopback keeps the all-in-one private. */
    bind_host: hostSchema.default("127.0.0.1"),
    /** Address other nodes and clients use to reach this one. */
    advertise_host: hostSchema.default("127.0.0.1"),
  })
  .strict();

/** `[admin]`: the all-in-one supervisor's health, metrics and status endpoint. */
export const adminSection = z
  .object({
    /** Port of `/healthz`, `/readyz`, `/metrics` and `/status` of the supervisor. */
    http_port: portSchema.default(7070),
  })
  .strict();

/** `[tls]`: certificates for every listener; mTLS between services when `require_client_cert`. */
export const tlsSection = z
  .object({
    /** Serve TLS on every listener (needs `cert_file` and `key_file`). */
    enabled: z.boolean().default(false),
    /** CA bundle (PEM) that verifies peers; required by `require_client_cert`. */
    ca_file: pathSchema.optional(),
    /** This node's certificate chain (PEM). */
    cert_file: pathSchema.optional(),
    /** This node's private key (PEM). */
    key_file: pathSchema.optional(),
    /** mTLS: reject clients that do not present a certificate signed by `ca_file`. */
    require_client_cert: z.boolean().default(false),
  })
  .strict();

/** `[engine]`: the native storage engine (RocksDB) shared by the services of this process. */
export const engineSection = z
  .object({
    /** Block cache size in MiB. */
    block_cache_mb: z.number().int().min(1).default(64),
    /** Memtable size in MiB before a flush. */
    write_buffer_mb: z.number().int().min(1).default(32),
    /** Compress SST blocks (LZ4). */
    compression: z.boolean().default(true),
  })
  .strict();

/** `[chainfire]`: the control-plane store (etcd v3 API). */
export const chainfireSection = z
  .object({
    /** Port of the etcd v3 gRPC API (etcd's client port). */
    client_port: portSchema.default(2379),
    /** Port of /healthz, /readyz and /metrics. */
    http_port: portSchema.default(2381),
    /** Port of the Raft transport between members (etcd's peer port). */
    peer_port: portSchema.default(2380),
    /** Client endpoint of a member of the cluster to join (empty: start or reopen alone). */
    join: z.string().default(""),
    /** Database size that raises the NOSPACE alarm, in bytes (etcd's default 2 GiB). */
    quota_bytes: z.number().int().min(1).default(2 * 1024 ** 3),
  })
  .strict();

/** `[iam]`: identity, tenancy and authorisation (REST and gRPC APIs, JWKS, service catalog). */
export const iamSection = z
  .object({
    /** Port of the REST/JSON API (`/v1/...`, `/.well-known/jwks.json`, `/openapi.json`) and health. */
    http_port: portSchema.default(7080),
    /** Port of the gRPC API (`photon.iam.v1.Iam`). */
    grpc_port: portSchema.default(7081),
    /** Issuer (`iss`) of access tokens; empty: the REST API's URL. */
    issuer: z.string().default(""),
    /** Key-encryption key file (32 bytes, mode 0600); empty: `<data_dir>/iam/kek`, created on first start. */
    kek_file: z.string().default(""),
    /** Age after which the token signing key is rotated, in seconds. */
    key_rotation_seconds: z.number().int().min(60).default(7 * 24 * 3600),
  })
  .strict();

/** `[lightningstor]`: S3-compatible object storage (services/lightningstor/SPEC.md). */
export const lightningstorSection = z
  .object({
    /** Port of the S3 REST API (and its /healthz, /readyz, /metrics). */
    s3_port: portSchema.default(9000),
    /** The region buckets report (clients may sign for any region). */
    region: z.string().regex(/^[a-z0-9-]{1,64}$/).default("us-east-1"),
    /** Base domain for virtual-hosted-style requests (`<bucket>.<domain>`); empty: path-style only. */
    domain: z.string().default(""),
    /** Largest single PUT, in MiB (larger objects use multipart uploads). */
    max_object_mb: z.number().int().min(1).max(5 * 1024).default(5 * 1024),
    /** How long a verified access key is trusted before iam is asked again, in seconds. */
    key_cache_seconds: z.number().int().min(0).max(300).default(10),
  })
  .strict();

/** `[novanet]`: tenant VPC networking — the API server and the host agent (`photon novanet-agent`). */
export const novanetSection = z
  .object({
    /** Port of the REST/JSON API (`/v1/...`, `/openapi.json`) and health. */
    http_port: portSchema.default(7090),
    /** Port of the gRPC API (`photon.novanet.v1.Novanet`). */
    grpc_port: portSchema.default(7091),
    /** First VXLAN VNI handed to VPCs. */
    vni_min: z.number().int().min(1).max(65535).default(4096),
    /** Last VNI (at most 65535: a VPC's conntrack zone on a host is its VNI). */
    vni_max: z.number().int().min(1).max(65535).default(65535),
    /** External (provider) network for routers and floating IPs, as CIDR; empty: none. */
    external_cidr: z.string().default(""),
    /** The external network's gateway (routers' default route). */
    external_gateway: z.string().default(""),
    /** First and last external address handed out; empty: every host address but the gateway. */
    external_pool_start: z.string().default(""),
    external_pool_end: z.string().default(""),
    /** The external network's IPv6 prefix (`2001:db8:100::/64`); empty: routers get no IPv6 leg. VPC IPv6 subnets are routed, never NATed: the upstream routes them to each router's address. */
    external_cidr6: z.string().default(""),
    /** The external network's IPv6 gateway (routers' IPv6 default route). */
    external_gateway6: z.string().default(""),
    /** Default per-project quotas. */
    quota_vpcs: z.number().int().min(0).default(10),
    quota_subnets: z.number().int().min(0).default(50),
    quota_ports: z.number().int().min(0).default(500),
    quota_secgroups: z.number().int().min(0).default(50),
    quota_rules: z.number().int().min(0).default(500),
    quota_routers: z.number().int().min(0).default(10),
    quota_fips: z.number().int().min(0).default(50),
    /** The agent: this host's name as ports name it (`port.host`); empty: `node.name`. */
    agent_host: z.string().default(""),
    /** The agent: this host's underlay (VXLAN endpoint) IPv4 address; required to run the agent. */
    agent_underlay_ip: z.string().default(""),
    /** The agent: the host bridge carrying the external network; empty: routers get no external leg here. */
    agent_external_bridge: z.string().default(""),
    /** The agent: full re-apply period (drift repair), in seconds. */
    agent_resync_seconds: z.number().int().min(1).default(30),
    /**
     * The agent (linux): CPUs that process what VMs' ports and the VXLAN devices receive (RPS),
     * as a list like `1` or `2-3,6` (ADR 0023); empty: the kernel's default (no steering).
     */
    agent_packet_cpus: z.string().default(""),
    /** The agent: port of its /healthz, /readyz and /metrics. */
    agent_http_port: portSchema.default(7092),
    /** The agent's data plane driver: `linux` (bridge + VXLAN + nftables) or `ovn` (ADR 0021). */
    dataplane: z.enum(["linux", "ovn"]).default("linux"),
    /** ovn: this agent may write the deployment's northbound database (one writer at a time holds a lease). */
    ovn_nb_writer: z.boolean().default(false),
    /** ovn: the northbound database the writer connects to. */
    ovn_nb_remote: z.string().default("unix:/var/run/ovn/ovnnb_db.sock"),
    /** ovn: this host's Open_vSwitch database, where ports are plugged into `ovn_bridge`. */
    ovn_ovs_remote: z.string().default("unix:/var/run/openvswitch/db.sock"),
    /** ovn: the integration bridge ovn-controller manages. */
    ovn_bridge: z.string().default("br-int"),
    /** ovn (writer): chassis that may host routers' gateway ports, comma-separated, highest priority first. */
    ovn_gateway_chassis: z.string().default(""),
    /** ovn (writer): the external network's name in `ovn-bridge-mappings`; empty: routers get no external leg. */
    ovn_external_network: z.string().default(""),
    /** ovn: MTU inside VPCs (1500 underlay minus Geneve's 58 bytes). */
    ovn_mtu: z.number().int().min(576).max(9000).default(1442),
    /** ovn: turn TX checksum offload off in VMs' veths (needed with ovs-vswitchd's userspace datapath). */
    ovn_disable_tx_offload: z.boolean().default(false),
  })
  .strict();

/** `[plasmavmc]`: virtual machines — the API server and the host agent (`photon plasmavmc-agent`). */
export const plasmavmcSection = z
  .object({
    /** Port of the REST/JSON API (`/v1/...`, `/openapi.json`) and health. */
    http_port: portSchema.default(7100),
    /** Port of the gRPC API (`photon.plasmavmc.v1.Plasmavmc`). */
    grpc_port: portSchema.default(7101),
    /** Largest image accepted, in bytes. */
    image_max_bytes: z.number().int().min(1).default(20 * 1024 ** 3),
    /** Default per-project quotas. */
    quota_vms: z.number().int().min(0).default(20),
    quota_vcpus: z.number().int().min(0).default(40),
    quota_memory_mib: z.number().int().min(0).default(81920),
    quota_volumes: z.number().int().min(0).default(20),
    /** Default per-project quota of volume sizes, GiB. */
    quota_gigabytes: z.number().int().min(0).default(1000),
    /** How long a VM delete waits for its host agent to remove it, in seconds. */
    delete_wait_seconds: z.number().int().min(1).default(30),
    /** The agent: this host's name (`vm.host`); empty: `node.name`. */
    agent_host: z.string().default(""),
    /** The agent: vCPUs offered to VMs; 0: the host's CPU count. */
    agent_vcpus: z.number().int().min(0).default(0),
    /** The agent: memory offered to VMs in MiB; 0: the host's memory less 1 GiB. */
    agent_memory_mib: z.number().int().min(0).default(0),
    /** The agent: accelerator (`auto` probes KVM and falls back to TCG). */
    agent_accel: z.enum(["auto", "kvm", "tcg"]).default("auto"),
    /** The agent: heartbeat lease TTL in seconds (a host silent this long has its VMs LOST). */
    agent_heartbeat_seconds: z.number().int().min(1).default(10),
    /** The agent: network namespace holding novanet's bridges and taps on this host; empty: the host's own. */
    agent_netns: z.string().default(""),
    /** The agent: novanet's namespace prefix on this host (its router namespaces serve metadata). */
    agent_ns_prefix: z.string().default("photon-"),
    /** The agent: port of its WebSocket serial console endpoint (`photon vm console`). */
    agent_console_port: portSchema.default(7102),
    /** The agent: iam's URL (console callers are authorised there); empty: iam's port on loopback. */
    agent_iam_url: z.string().default(""),
    /**
     * `photon up` runs this host's agents (novanet's Linux data plane and plasmavmc's agent) in
     * process, so VMs run on the all-in-one; skipped, with the reason in `photon status`, when not
     * root or when QEMU, ip, nft, bridge or dnsmasq is missing.
     */
    local_agent: z.boolean().default(true),
    /** Where image imports may fetch from besides public addresses: CIDRs and host patterns (`*.example.com`). */
    image_import_allow: z.array(z.string().min(1)).default([]),
    /** A create interrupted before its ports were recorded is cleaned up after this many seconds. */
    create_sweep_grace_seconds: z.number().int().min(1).default(120),
  })
  .strict();

/** Every section, keyed by its TOML table name. Add new sections here. */
export const configSections = {
  node: nodeSection,
  admin: adminSection,
  tls: tlsSection,
  engine: engineSection,
  chainfire: chainfireSection,
  iam: iamSection,
  novanet: novanetSection,
  lightningstor: lightningstorSection,
  plasmavmc: plasmavmcSection,
} as const;

/** The name of a configuration section. */
export type ConfigSectionName = keyof typeof configSections;

/** Rules that span keys; each problem names the key to fix. */
function crossChecks(config: z.output<z.ZodObject<typeof configSections>>, ctx: z.RefinementCtx): void {
  const { tls } = config;
  if (tls.enabled) {
    if (tls.cert_file === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tls", "cert_file"], message: "required when tls.enabled is true" });
    }
    if (tls.key_file === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tls", "key_file"], message: "required when tls.enabled is true" });
    }
  }
  if (tls.require_client_cert && tls.ca_file === undefined) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["tls", "ca_file"],
      message: "required when tls.require_client_cert is true",
    });
  }
  if (tls.require_client_cert && !tls.enabled) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["tls", "require_client_cert"],
      message: "needs tls.enabled = true",
    });
  }
}

/**
 * The whole configuration: every section, each defaulted to `{}` so an empty file is valid.
 * Unknown sections and keys are rejected (strict objects).
 */
export const configSchema = z
  .object(
    Object.fromEntries(
      Object.entries(configSections).map(([name, section]) => [name, (section as z.AnyZodObject).default({})]),
    ) as { [K in ConfigSectionName]: z.ZodDefault<(typeof configSections)[K]> },
  )
  .strict()
  .superRefine(crossChecks);

/** The validated configuration every component receives. */
export type PhotonConfig = z.output<typeof configSchema>;
