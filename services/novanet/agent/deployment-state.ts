/**
 * What OVN's northbound database must hold, computed from novanet's state (pure): unlike a host's
 * state (host-state.ts) it is the whole deployment's — every VPC with a port, every port bound to
 * any host (OVN learns where a port is from its chassis binding), every router with its external
 * leg on OVN's external network and the floating IPs of all its ports, every security group used
 * by a port. Port devices and remote endpoints mean nothing to the northbound driver: ports are
 * given as taps and no endpoints are listed. Read by the one agent that writes the northbound
 * database (ADR 0021).
 *
 * Defensive like the host plan: a port that cannot be modelled (its VPC or subnet gone, no
 * address) is left out and reported instead of blocking the deployment.
 */
import type { HostNetworkState, PortState, SecurityGroupState, VpcState } from "../../../dataplane/vpc-dataplane.ts";
import type { Port } from "../types.ts";
import { dpRule, groupMembers, routerState, subnetStates, type HostPlan, type NovanetSnapshot } from "./host-state.ts";

/** Deployment facts the northbound state needs. */
export interface DeploymentOptions {
  /** The writer's underlay address (required by the state's shape; the northbound ignores it). */
  underlayIp: string;
  /** OVN's name of the external network (`ovn-bridge-mappings`); without it routers get no external leg. */
  externalNetwork?: string;
  /** MTU inside every VPC (handed out by DHCP); default: the driver's. */
  mtu?: number;
}

/** Computes the northbound's desired state from a snapshot (see the file comment). */
export function planDeploymentState(snap: NovanetSnapshot, o: DeploymentOptions): HostPlan {
  const skipped: HostPlan["skipped"] = [];
  const ports: Port[] = [];
  for (const p of [...snap.ports.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!snap.vpcs.has(p.vpc) || !snap.subnets.has(p.subnet)) skipped.push({ port: p.id, reason: "its VPC or subnet is gone" });
    else if (p.fixedIps.length === 0) skipped.push({ port: p.id, reason: "no address" });
    else ports.push(p);
  }
  const members = groupMembers(snap);
  const vpcs: VpcState[] = [];
  for (const vid of [...new Set(ports.map((p) => p.vpc))].sort()) {
    const vpc = snap.vpcs.get(vid)!;
    const router = [...snap.routers.values()].find((r) => r.vpc === vid);
    const attached = new Set(router?.subnets ?? []);
    const subnets = [...snap.subnets.values()].filter((s) => s.vpc === vid).sort((a, b) => a.id.localeCompare(b.id));
    const mine: PortState[] = ports.filter((p) => p.vpc === vid).map((p) => ({
      id: p.id,
      mac: p.mac,
      ips: [...p.fixedIps],
      securityGroups: [...p.securityGroups].sort(),
      portSecurity: p.portSecurity,
      device: { kind: "tap" },
    }));
    const state: VpcState = {
      id: vid,
      vni: vpc.vni,
      ...(o.mtu ? { mtu: o.mtu } : {}),
      subnets: subnetStates(subnets, attached),
      ports: mine,
      remoteEndpoints: [],
    };
    if (router) state.router = routerState(snap, router, o.externalNetwork || undefined, new Set(mine.flatMap((p) => p.ips)));
    vpcs.push(state);
  }
  const securityGroups: SecurityGroupState[] = [...new Set(ports.flatMap((p) => p.securityGroups))].sort().map((id) => {
    const g = snap.secgroups.get(id);
    return { id, rules: g ? g.rules.map((r) => dpRule(r, members)) : [] };
  });
  const state: HostNetworkState = { underlayIp: o.underlayIp, vpcs, securityGroups };
  return { state, skipped };
}
