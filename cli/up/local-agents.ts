/**
 * This host's agents inside `photon up`, so the all-in-one runs VMs on the machine it runs on —
 * novanet's agent with the Linux data plane (bridges, VXLAN, nftables, DHCP and router
 * namespaces: the taps VMs plug into) and plasmavmc's chainfire-driven agent (registers the host,
 * launches QEMU, serves metadata and consoles). They are what `photon novanet-agent` and
 * `photon plasmavmc-agent` run, in process, with the same files (`<data_dir>/plasmavmc/{run,
 * agent,images}`), so either form re-adopts the other's VMs. `withLocalAgents` starts them right
 * after plasmavmc's API, as part of that component (they are no service: nothing to put in iam's
 * catalog), and shows them in its endpoints: `agents` (their health URL, or `off: <why>`),
 * `host` and `accelerator`.
 *
 * Both use one host name (`[plasmavmc] agent_host`, else `node.name`: the scheduler binds a VM's
 * ports to the host it places the VM on, and novanet's agent plugs the ports bound to its host),
 * `[plasmavmc] agent_netns` and `agent_ns_prefix` for where the data plane lives, and
 * `[novanet] agent_underlay_ip` (default 127.0.0.1: one host needs no reachable underlay).
 *
 * They need root, QEMU (qemu-system-x86_64, qemu-img), ip, nft, bridge and dnsmasq, and
 * novanet's Linux data plane. When something is missing, or `[plasmavmc] local_agent = false`,
 * nothing is started: `agents` says why in `photon status`, the log says it too, and the rest of
 * the cloud runs as before (VMs then wait for a host agent). Stopping `photon up` detaches from
 * the VMs (they keep running; the host shows as down until the next start, which re-adopts them).
 */
import { existsSync, mkdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { LinuxVpcDataplane } from "../../dataplane/linux/index.ts";
import type { Component, ComponentContext } from "../../lib/component.ts";
import type { PhotonConfig } from "../../lib/config.ts";
import { CommonErrors } from "../../lib/errors.ts";
import { startHttpServer } from "../../lib/http-server.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { IamGuard } from "../../services/iam/guard.ts";
import { packetCpus } from "../../services/novanet/agent/agent-dataplane.ts";
import { NovanetAgent } from "../../services/novanet/agent/agent.ts";
import { EtcdNovanetStore } from "../../services/novanet/store-etcd.ts";
import { ClusterAgent } from "../../services/plasmavmc/agent/cluster-agent.ts";
import { QemuHypervisor } from "../../services/plasmavmc/hypervisor/qemu-hypervisor.ts";
import { vmPaths } from "../../services/plasmavmc/hypervisor/run-dir.ts";
import { EtcdPlasmavmcStore } from "../../services/plasmavmc/store-etcd.ts";

const TOOLS = ["qemu-system-x86_64", "qemu-img", "ip", "nft", "bridge", "dnsmasq"];

/** Why this host's agents cannot run in `photon up`, or undefined when they can. */
export function localAgentsUnavailable(config: PhotonConfig): string | undefined {
  const p = config.plasmavmc;
  if (!p.local_agent) return "[plasmavmc] local_agent = false";
  if (config.novanet.dataplane !== "linux") return `novanet.dataplane is ${config.novanet.dataplane}: run photon novanet-agent and photon plasmavmc-agent on this host`;
  if (process.getuid?.() !== 0) return "not root: VMs need taps, bridges and network namespaces (run photon up as root, or photon novanet-agent and photon plasmavmc-agent as root)";
  const missing = TOOLS.filter((t) => !Bun.which(t));
  if (missing.length) return `missing ${missing.join(", ")} (install qemu-system-x86, qemu-utils, iproute2, nftables and dnsmasq)`;
  if (p.agent_netns && !existsSync(`/run/netns/${p.agent_netns}`)) return `the network namespace ${p.agent_netns} ([plasmavmc] agent_netns) does not exist`;
  return undefined;
}

/** The directory of VM sockets: the same as `photon plasmavmc-agent`'s default. */
function socketDir(): string {
  return join(process.env.XDG_RUNTIME_DIR || "/run", "photon", "vms");
}

/** Running local agents: what to show in the status, and how to stop them. */
export interface LocalAgents {
  endpoints: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts this host's agents, or reports why not (`endpoints.agents = "off: ..."`).
 * @param ctx the context of the component they run in (its `dataDir` is `<data_dir>/<name>`).
 * @throws what an agent's start throws (chainfire unreachable, a port taken), all stopped again.
 */
export async function startLocalAgents(ctx: ComponentContext): Promise<LocalAgents> {
  const { config } = ctx;
  const logger = ctx.logger.child({ part: "local-agents" });
  const etcd = ctx.endpoints.chainfire?.etcd;
  const iam = ctx.endpoints.iam?.http;
  if (!etcd || !iam) throw CommonErrors.Unavailable("the local agents need chainfire and iam, which are not running in this process");
  const off = localAgentsUnavailable(config);
  if (off) {
    logger.warn("this host's VM agents are not started; VMs wait for a host agent", { reason: off });
    return { endpoints: { agents: `off: ${off}` }, stop: async () => {} };
  }
  const p = config.plasmavmc;
  const n = config.novanet;
  const root = dirname(ctx.dataDir);
  const host = p.agent_host || config.node.name;
  const underlayIp = n.agent_underlay_ip || "127.0.0.1";
  const netns = p.agent_netns ? { netns: p.agent_netns } : {};
  const sockets = socketDir();
  const runDir = join(root, "plasmavmc", "run");
  vmPaths(runDir, "x".repeat(63), sockets); // throws when the longest VM id's socket paths would be too long
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const hypervisor = new QemuHypervisor({ runDir, socketDir: sockets, accelerator: p.agent_accel });
  const info = await hypervisor.info();
  if (!info.available) {
    logger.warn("this host's VM agents are not started; VMs wait for a host agent", { reason: info.reason });
    return { endpoints: { agents: `off: ${info.reason}` }, stop: async () => {} };
  }

  const metrics = createMetrics("local-agents"); // their own registry, served on their own port
  const nnStore = new EtcdNovanetStore({ endpoints: [etcd] });
  const pvStore = new EtcdPlasmavmcStore({ endpoints: [etcd] });
  const guard = new IamGuard(iam);
  const stops: (() => Promise<void> | void)[] = [() => nnStore.close(), () => pvStore.close(), () => guard.close()];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await Promise.resolve(s()).catch((e) => logger.error("local agent failed to stop", { error: e }));
  };
  try {
    const nnAgent = new NovanetAgent({
      store: nnStore,
      // dnsmasq files in the driver's default /run/photon/novanet: dnsmasq drops to nobody and cannot read the (0700) data directory
      dataplane: new LinuxVpcDataplane({
        ...netns,
        nsPrefix: p.agent_ns_prefix,
        ...(n.agent_packet_cpus ? { packetCpus: packetCpus(n.agent_packet_cpus) } : {}),
        logger: logger.child({ agent: "novanet" }),
      }),
      metrics,
      host: { name: host, underlayIp, ...(n.agent_external_bridge ? { externalBridge: n.agent_external_bridge } : {}) },
      logger: logger.child({ agent: "novanet" }),
      resyncMs: n.agent_resync_seconds * 1000,
    });
    await nnAgent.start();
    stops.push(() => nnAgent.stop());
    const pvAgent = new ClusterAgent({
      store: pvStore, hypervisor, runDir, socketDir: sockets,
      host: {
        name: host,
        vcpus: p.agent_vcpus || cpus().length,
        memoryMiB: p.agent_memory_mib || Math.max(256, Math.floor(totalmem() / 1048576) - 1024),
        underlayIp,
      },
      imageDir: join(root, "plasmavmc", "images"),
      stateDir: join(root, "plasmavmc", "agent"),
      ...netns,
      nsPrefix: p.agent_ns_prefix,
      heartbeatSeconds: p.agent_heartbeat_seconds,
      console: { host: config.node.bind_host, port: p.agent_console_port, guard, ...(config.node.advertise_host ? { advertiseHost: config.node.advertise_host } : {}) },
      logger: logger.child({ agent: "plasmavmc" }),
    });
    await pvAgent.start();
    stops.push(() => pvAgent.stop());
    const http = startHttpServer({ component: "local-agents", host: config.node.bind_host, port: n.agent_http_port, metrics, logger, readiness: () => nnAgent.healthy });
    stops.push(() => http.stop());
    logger.info("this host's VM agents are running", { host, accelerator: info.accelerator, why: info.reason, netns: p.agent_netns || "(host)" });
    return { endpoints: { agents: `${http.url}/healthz`, host, accelerator: info.accelerator ?? "unknown" }, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** `component` (plasmavmc's) followed by this host's agents, stopped before it (see the file comment). */
export function withLocalAgents(component: Component): Component {
  return {
    name: component.name,
    description: `${component.description}; and this host's VM agents (root)`,
    async start(ctx) {
      const run = await component.start(ctx);
      let agents: LocalAgents;
      try {
        agents = await startLocalAgents(ctx);
      } catch (e) {
        await run.stop();
        throw e;
      }
      return {
        endpoints: { ...run.endpoints, ...agents.endpoints },
        healthUrl: run.healthUrl,
        stop: async () => {
          await agents.stop();
          await run.stop();
        },
      };
    },
  };
}
