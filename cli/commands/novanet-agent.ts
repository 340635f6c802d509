/**
 * `photon novanet-agent`: novanet's host agent in the foreground, one per hypervisor host. It
 * watches novanet's state in chainfire and converges this host's VPC data plane (Linux driver:
 * bridges, VXLAN, nftables, router and DHCP namespaces) to what the state says for the ports
 * bound to this host (`port.host`).
 *
 *   photon novanet-agent --host hv1 --underlay-ip 192.0.2.1 [--external-bridge br-ext] \
 *     [--etcd http://10.0.0.1:2379 ...] [--resync-seconds 30] [--http-port 7092] [--config photon.toml]
 *     [--dataplane linux|ovn] [--ovn-nb-writer] [--ovn-nb-remote unix:...] [--ovs-remote unix:...]
 *
 * `--dataplane ovn` (or `[novanet] dataplane = "ovn"`, with the `ovn_*` keys) plugs this host's
 * ports into the local OVN chassis instead; agents with `--ovn-nb-writer` also write the
 * deployment's northbound database, one at a time (a lease in chainfire, ADR 0021).
 *
 * Flags override the `[novanet] agent_*` keys (defaults < photon.toml < PHOTON_* < flags); the
 * host name defaults to `node.name`, chainfire to the configured client port on loopback.
 * `--netns`, `--ns-prefix` and `--state-dir` run the driver against a namespace standing in for
 * the host (tests and labs). `/healthz`, `/readyz` (ready once a state is applied and the last
 * apply succeeded) and `/metrics` answer on `--http-port`. Once running it prints one line (`-o json`: a JSON object) and stays
 * up; SIGTERM or SIGINT stops it (the host keeps what was applied). Bad flags: exit 2.
 */
import { existsSync } from "node:fs";
import { isIPv4 } from "node:net";
import { parseArgs } from "node:util";
import { loadConfig } from "../../lib/config.ts";
import { startHttpServer } from "../../lib/http-server.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { installSignalHandlers, onShutdown } from "../../lib/shutdown.ts";
import { createAgentDataplanes } from "../../services/novanet/agent/agent-dataplane.ts";
import { NovanetAgent } from "../../services/novanet/agent/agent.ts";
import { WriterElection } from "../../services/novanet/agent/writer-election.ts";
import { EtcdNovanetStore } from "../../services/novanet/store-etcd.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";

const options = {
  config: { type: "string", short: "c" },
  host: { type: "string" },
  "underlay-ip": { type: "string" },
  "external-bridge": { type: "string" },
  etcd: { type: "string", multiple: true },
  "resync-seconds": { type: "string" },
  "http-port": { type: "string" },
  netns: { type: "string" },
  "ns-prefix": { type: "string" },
  "state-dir": { type: "string" },
  dataplane: { type: "string" },
  "ovn-nb-writer": { type: "boolean" },
  "ovn-nb-remote": { type: "string" },
  "ovs-remote": { type: "string" },
  output: { type: "string", short: "o" },
} as const;

/** Runs the agent; resolves to the exit code once it applied the state once (it then stays up). */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let flags;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    return reportError(io, usageError((e as Error).message));
  }
  const logger = createLogger("novanet-agent");
  try {
    const o: Record<string, string> = Object.create(null);
    if (flags.host !== undefined) o["novanet.agent_host"] = flags.host;
    if (flags["underlay-ip"] !== undefined) o["novanet.agent_underlay_ip"] = flags["underlay-ip"];
    if (flags["external-bridge"] !== undefined) o["novanet.agent_external_bridge"] = flags["external-bridge"];
    if (flags["resync-seconds"] !== undefined) o["novanet.agent_resync_seconds"] = flags["resync-seconds"];
    if (flags["http-port"] !== undefined) o["novanet.agent_http_port"] = flags["http-port"];
    if (flags.dataplane !== undefined) o["novanet.dataplane"] = flags.dataplane;
    if (flags["ovn-nb-writer"]) o["novanet.ovn_nb_writer"] = "true";
    if (flags["ovn-nb-remote"] !== undefined) o["novanet.ovn_nb_remote"] = flags["ovn-nb-remote"];
    if (flags["ovs-remote"] !== undefined) o["novanet.ovn_ovs_remote"] = flags["ovs-remote"];
    const file = flags.config ?? (existsSync("photon.toml") ? "photon.toml" : undefined);
    const config = loadConfig({ ...(file ? { file } : {}), flags: o });
    const n = config.novanet;
    const host = n.agent_host || config.node.name;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(host)) throw usageError(`the host name ${JSON.stringify(host)} is not valid (--host)`);
    if (!isIPv4(n.agent_underlay_ip)) throw usageError("give this host's underlay IPv4 address (--underlay-ip or [novanet] agent_underlay_ip)");
    if (n.agent_external_bridge && !/^[A-Za-z0-9_.-]{1,15}$/.test(n.agent_external_bridge)) throw usageError(`--external-bridge ${JSON.stringify(n.agent_external_bridge)} is not an interface name`);
    const etcd = flags.etcd ?? [`http://127.0.0.1:${config.chainfire.client_port}`];
    const store = new EtcdNovanetStore({ endpoints: etcd });
    const drivers = createAgentDataplanes(n, {
      logger,
      ...(flags.netns ? { netns: flags.netns } : {}),
      ...(flags["ns-prefix"] ? { nsPrefix: flags["ns-prefix"] } : {}),
      ...(flags["state-dir"] ? { stateDir: flags["state-dir"] } : {}),
    });
    const metrics = createMetrics("novanet-agent");
    const agent = new NovanetAgent({
      store,
      dataplane: drivers.dataplane,
      // Several agents may be writers: one at a time holds the writer's lease and writes.
      ...(drivers.northbound ? { northbound: { ...drivers.northbound, election: new WriterElection({ etcd: store.etcd, host, logger }) } } : {}),
      metrics,
      host: { name: host, underlayIp: n.agent_underlay_ip, ...drivers.host },
      logger,
      resyncMs: n.agent_resync_seconds * 1000,
    });
    installSignalHandlers({ logger, drainMs: 5_000 });
    const http = startHttpServer({ component: "novanet-agent", host: config.node.bind_host, port: n.agent_http_port, metrics, logger, readiness: () => agent.healthy });
    await agent.start();
    onShutdown(async () => {
      await agent.stop();
      await drivers.close();
      store.close();
    }, "novanet-agent");
    const info = { host, underlayIp: n.agent_underlay_ip, dataplane: drivers.kind, northbound: drivers.northbound !== undefined, etcd, revision: agent.appliedRevision, http: http.url };
    if (flags.output === "json") io.stdout(JSON.stringify(info) + "\n");
    else io.stdout(`novanet-agent ${host} (${drivers.kind}${drivers.northbound ? ", northbound writer" : ""}, underlay ${n.agent_underlay_ip}) following ${etcd.join(",")} at revision ${agent.appliedRevision}; health ${http.url}/healthz\n`);
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
