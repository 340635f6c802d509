/**
 * `photon chainfire`: runs ONE chainfire member in the foreground, as a cluster node runs it
 * (one per machine, under systemd or NixOS), in the shape of etcd's own flags:
 *
 *   photon chainfire --name n2 --data-dir /srv/photon \
 *     --listen-client 10.0.0.2:2379 --listen-peer 10.0.0.2:2380 --http-port 2381 \
 *     --join http://10.0.0.1:2379 [--cert-file F --key-file F --trusted-ca-file F --client-cert-auth]
 *
 * Configuration comes from lib/config.ts like `photon up` (defaults < photon.toml or `--config` <
 * PHOTON_* < flags); each flag overrides one key: --name node.name, --data-dir node.data_dir,
 * --listen-client node.bind_host + chainfire.client_port, --listen-peer chainfire.peer_port (same
 * host: startChainfire binds one), --advertise-host node.advertise_host (the host in the client
 * and peer URLs this member publishes; needed when binding 0.0.0.0), --http-port chainfire.http_port, --join chainfire.join, and
 * --cert-file/--key-file/--trusted-ca-file/--client-cert-auth the [tls] keys (a certificate turns
 * tls.enabled on). `--tick-ms` shortens the Raft tick (tests only; not a config key). The
 * member's state lives in `<data_dir>/chainfire/` (the layout `photon up` uses), so a data
 * directory carries over.
 *
 * `--join` asks any member to add this one (MemberAdd, forwarded to the leader) on the first
 * start; later starts find their identity in the data directory and rejoin with it, so the same
 * command line restarts a member. Without `--join` a fresh directory bootstraps a new cluster.
 *
 * Once serving it prints one line on stdout (`-o json`: one JSON object with name, memberId,
 * endpoint, peerUrl, http) and stays up; SIGTERM or SIGINT stops it cleanly (lib/shutdown.ts) and
 * exits 0. Bad flags, configuration or data directory: one line on stderr, exit 2.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../lib/config.ts";
import { claimDataDir } from "../../lib/data-dir.ts";
import { PhotonError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { installSignalHandlers, onShutdown } from "../../lib/shutdown.ts";
import { advertisedHost, startChainfire } from "../../services/chainfire/server.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";

const options = {
  config: { type: "string", short: "c" },
  name: { type: "string" },
  "data-dir": { type: "string" },
  "listen-client": { type: "string" },
  "listen-peer": { type: "string" },
  "advertise-host": { type: "string" },
  "http-port": { type: "string" },
  join: { type: "string" },
  "cert-file": { type: "string" },
  "key-file": { type: "string" },
  "trusted-ca-file": { type: "string" },
  "client-cert-auth": { type: "boolean" },
  "tick-ms": { type: "string" },
  output: { type: "string", short: "o" },
} as const;

/** `HOST:PORT` or `[V6]:PORT` (a URL's scheme is tolerated) → its parts. */
export function parseListen(flag: string, value: string): { host: string; port: string } {
  const m = /^(?:[a-z]+:\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})\/?$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw usageError(`--${flag} must be HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2]! };
}

/** The flags as dotted configuration keys (the layer that wins over file and environment). */
export function flagOverrides(flags: Record<string, string | boolean | undefined>): Record<string, string> {
  const o: Record<string, string> = Object.create(null);
  const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  if (str("name") !== undefined) o["node.name"] = str("name")!;
  if (str("data-dir") !== undefined) o["node.data_dir"] = str("data-dir")!;
  const client = str("listen-client") !== undefined ? parseListen("listen-client", str("listen-client")!) : undefined;
  const peer = str("listen-peer") !== undefined ? parseListen("listen-peer", str("listen-peer")!) : undefined;
  // startChainfire binds its client, peer and HTTP listeners to one host.
  if (client && peer && client.host !== peer.host) {
    throw usageError(`--listen-client and --listen-peer must use the same host (got ${client.host} and ${peer.host})`);
  }
  const host = client?.host ?? peer?.host;
  if (host !== undefined) o["node.bind_host"] = host;
  if (str("advertise-host") !== undefined) o["node.advertise_host"] = str("advertise-host")!;
  if (client) o["chainfire.client_port"] = client.port;
  if (peer) o["chainfire.peer_port"] = peer.port;
  if (str("http-port") !== undefined) o["chainfire.http_port"] = str("http-port")!;
  if (str("join") !== undefined) o["chainfire.join"] = str("join")!;
  if (str("cert-file") !== undefined) o["tls.cert_file"] = str("cert-file")!;
  if (str("key-file") !== undefined) o["tls.key_file"] = str("key-file")!;
  if (str("trusted-ca-file") !== undefined) o["tls.ca_file"] = str("trusted-ca-file")!;
  if (str("cert-file") !== undefined || str("key-file") !== undefined) o["tls.enabled"] = "true";
  if (flags["client-cert-auth"] === true) o["tls.require_client_cert"] = "true";
  return o;
}

/** Runs `photon chainfire`; resolves to the exit code once serving (the process then stays up). */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let flags;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
    if (flags.output !== undefined && flags.output !== "json" && flags.output !== "text") throw usageError(`-o must be json or text, got ${JSON.stringify(flags.output)}`);
    if (flags["tick-ms"] !== undefined && !/^[1-9]\d{0,4}$/.test(flags["tick-ms"])) throw usageError(`--tick-ms must be a positive integer, got ${JSON.stringify(flags["tick-ms"])}`);
  } catch (e) {
    return reportError(io, e instanceof PhotonError ? e : usageError((e as Error).message));
  }
  const logger = createLogger("chainfire");
  try {
    const file = flags.config ?? (existsSync("photon.toml") ? "photon.toml" : undefined);
    const config = loadConfig({ ...(file ? { file } : {}), flags: flagOverrides(flags) });
    const { path: root } = claimDataDir(config.node.data_dir, config.node.name);
    const dataDir = join(root, "chainfire");
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const { tls } = config;
    installSignalHandlers({ logger, drainMs: 5_000 });
    const server = await startChainfire({
      dataDir,
      name: config.node.name,
      host: config.node.bind_host,
      advertiseHost: advertisedHost(config.node.bind_host, config.node.advertise_host),
      port: config.chainfire.client_port,
      httpPort: config.chainfire.http_port,
      peerPort: config.chainfire.peer_port,
      quotaBytes: config.chainfire.quota_bytes,
      ...(config.chainfire.join ? { join: config.chainfire.join } : {}),
      ...(tls.enabled && tls.cert_file && tls.key_file
        ? { tls: { certFile: tls.cert_file, keyFile: tls.key_file, ...(tls.ca_file ? { caFile: tls.ca_file } : {}), requireClientCert: tls.require_client_cert } }
        : {}),
      ...(flags["tick-ms"] ? { tickMs: Number(flags["tick-ms"]) } : {}),
      logger,
      metrics: createMetrics("chainfire"),
    });
    onShutdown(() => server.stop(), "chainfire");
    void server.published.then(() => logger.info("member published", { name: config.node.name }));
    const svc = server.service;
    const peerUrl = server.peerUrl ?? "";
    const info = { name: config.node.name, memberId: svc.memberId.toString(16), endpoint: server.endpoint, peerUrl, http: server.http.url, dataDir };
    if (flags.output === "json") io.stdout(JSON.stringify(info) + "\n");
    else io.stdout(`chainfire member ${info.name} (${info.memberId}) serving ${info.endpoint}, peer ${peerUrl}, http ${info.http}; data ${dataDir}\n`);
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
