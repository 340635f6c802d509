/**
 * The host agent's data plane, chosen by configuration (`[novanet] dataplane`, ADR 0021):
 * - `linux`: the Linux driver (bridge + VXLAN + nftables + namespaces) converges this host;
 * - `ovn`: the OVN chassis driver plugs this host's ports into the integration bridge of the
 *   local ovs-vswitchd (ovn-controller, set up by the operator, binds them), and — on agents with
 *   `ovn_nb_writer` — the OVN driver for the deployment's northbound database, which the agent
 *   writes while it holds the writer's lease (writer-election.ts: one writer at a time).
 * Only `photon novanet-agent` and tests build agents from configuration through this file.
 */
import { cpus } from "node:os";
import { cpuListToMask, LinuxVpcDataplane } from "../../../dataplane/linux/index.ts";
import { OvnChassisDataplane, OvnVpcDataplane } from "../../../dataplane/ovn/index.ts";
import type { VpcDataplane } from "../../../dataplane/vpc-dataplane.ts";
import type { PhotonConfig } from "../../../lib/config.ts";
import { CommonErrors } from "../../../lib/errors.ts";
import type { Logger } from "../../../lib/log.ts";
import { parseRemote } from "../../../lib/ovsdb/index.ts";
import type { NovanetAgentOptions } from "./agent.ts";
import type { HostIdentity } from "./host-state.ts";

/** Where the driver runs on this host (tests and labs stand a namespace in for the host). */
export interface AgentDataplaneOptions {
  logger: Logger;
  /** Network namespace holding the host's devices (and, with ovn, where ovs-vswitchd runs). */
  netns?: string;
  /** linux: prefix of the driver's namespaces. */
  nsPrefix?: string;
  /** linux: where dnsmasq's files live. */
  stateDir?: string;
}

/** The drivers of one agent and what the agent's planning needs to know about them. */
export interface AgentDataplanes {
  /** `linux` or `ovn`. */
  kind: "linux" | "ovn";
  /** This host's half. */
  dataplane: VpcDataplane;
  /** The deployment's northbound (ovn writer only). */
  northbound?: NovanetAgentOptions["northbound"];
  /** What the host plan adds for this driver (the VPC MTU, the external bridge). */
  host: Pick<HostIdentity, "mtu" | "externalBridge">;
  /** Closes the drivers' connections. */
  close(): Promise<void>;
}

const CHASSIS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Builds the agent's drivers from `[novanet]`.
 * @throws PhotonError `PHOTON:InvalidArgument` naming the key when an OVN setting is malformed
 *   (an OVSDB remote that is not `unix:PATH` / `tcp:HOST:PORT`, a bad chassis or network name).
 */
export function createAgentDataplanes(n: PhotonConfig["novanet"], o: AgentDataplaneOptions): AgentDataplanes {
  if (n.dataplane === "linux") {
    const dataplane = new LinuxVpcDataplane({
      logger: o.logger,
      ...(n.agent_packet_cpus ? { packetCpus: packetCpus(n.agent_packet_cpus) } : {}),
      ...(o.netns ? { netns: o.netns } : {}),
      ...(o.nsPrefix ? { nsPrefix: o.nsPrefix } : {}),
      ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    });
    return { kind: "linux", dataplane, host: n.agent_external_bridge ? { externalBridge: n.agent_external_bridge } : {}, close: async () => {} };
  }
  const bad = (key: string, why: string) => CommonErrors.InvalidArgument(`[novanet] ${key}: ${why}`, { details: { field: `novanet.${key}` } });
  const remotes: ("ovn_ovs_remote" | "ovn_nb_remote")[] = n.ovn_nb_writer ? ["ovn_ovs_remote", "ovn_nb_remote"] : ["ovn_ovs_remote"];
  for (const key of remotes) {
    try {
      parseRemote(n[key]);
    } catch (e) {
      throw bad(key, `${(e as Error).message} (give unix:PATH or tcp:HOST:PORT)`);
    }
  }
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(n.ovn_bridge)) throw bad("ovn_bridge", `${JSON.stringify(n.ovn_bridge)} is not a bridge name`);
  const gatewayChassis = n.ovn_gateway_chassis.split(",").map((c) => c.trim()).filter((c) => c !== "");
  for (const c of gatewayChassis) if (!CHASSIS.test(c)) throw bad("ovn_gateway_chassis", `${JSON.stringify(c)} is not a chassis name`);
  if (n.ovn_external_network && !CHASSIS.test(n.ovn_external_network)) throw bad("ovn_external_network", `${JSON.stringify(n.ovn_external_network)} is not a network name`);
  if (n.ovn_nb_writer && n.ovn_external_network && gatewayChassis.length === 0) throw bad("ovn_gateway_chassis", "routers on ovn_external_network need at least one gateway chassis");

  const chassis = new OvnChassisDataplane({
    ovsRemote: n.ovn_ovs_remote,
    bridge: n.ovn_bridge,
    disableTxOffload: n.ovn_disable_tx_offload,
    logger: o.logger,
    ...(o.netns ? { netns: o.netns } : {}),
  });
  const nb = n.ovn_nb_writer ? new OvnVpcDataplane({ nbRemote: n.ovn_nb_remote, gatewayChassis, logger: o.logger }) : undefined;
  return {
    kind: "ovn",
    dataplane: chassis,
    ...(nb ? { northbound: { dataplane: nb, mtu: n.ovn_mtu, ...(n.ovn_external_network ? { externalNetwork: n.ovn_external_network } : {}) } } : {}),
    host: { mtu: n.ovn_mtu },
    close: async () => {
      await chassis.close();
      await nb?.close();
    },
  };
}

/**
 * `[novanet] agent_packet_cpus`, checked against this host's CPUs.
 * @throws PhotonError `PHOTON:InvalidArgument` naming the key when the list is malformed.
 */
export function packetCpus(list: string): string {
  try {
    cpuListToMask(list, cpus().length);
  } catch (e) {
    throw CommonErrors.InvalidArgument(`[novanet] agent_packet_cpus: ${(e as Error).message}`, { details: { field: "novanet.agent_packet_cpus" } });
  }
  return list;
}
