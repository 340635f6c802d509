/**
 * What one host must hold, computed from novanet's state (pure): the ports bound to the host,
 * their VPCs with subnets (gateways of subnets attached to a router), where the VPCs' other
 * ports live (remote endpoints: MAC + IPs behind the other host's underlay address), the
 * security groups of the local ports with remote groups resolved to their members' addresses,
 * and the VPCs' routers with the floating IPs of local ports. Both families are carried (IPv6
 * subnets, addresses, rules); floating IPs and the external network are IPv4.
 *
 * Defensive by design: the data plane validates the whole host state at once, so one port that
 * cannot be plugged (its namespace is missing, its host unknown) is left out — and reported —
 * rather than blocking every other port of the host.
 */
import { isIP } from "node:net";
import type { HostNetworkState, PortState, SecurityGroupRule as DpRule, SecurityGroupState, VpcState } from "../../../dataplane/vpc-dataplane.ts";
import { NOVANET_PREFIX } from "../store.ts";
import type { AgentHost, FloatingIp, Port, Router, SecurityGroup, SecurityGroupRule, Subnet, Vpc } from "../types.ts";

/** novanet's documents by kind and id. */
export interface NovanetSnapshot {
  vpcs: Map<string, Vpc>;
  subnets: Map<string, Subnet>;
  ports: Map<string, Port>;
  secgroups: Map<string, SecurityGroup>;
  routers: Map<string, Router>;
  fips: Map<string, FloatingIp>;
  hosts: Map<string, AgentHost>;
}

/** Sorts a store snapshot (`/photon/novanet/<kind>/<id>` → doc) into kinds; other keys are ignored. */
export function parseSnapshot(docs: ReadonlyMap<string, unknown>): NovanetSnapshot {
  const s: NovanetSnapshot = { vpcs: new Map(), subnets: new Map(), ports: new Map(), secgroups: new Map(), routers: new Map(), fips: new Map(), hosts: new Map() };
  for (const [key, doc] of docs) {
    if (!key.startsWith(NOVANET_PREFIX)) continue;
    const [kind, id, ...rest] = key.slice(NOVANET_PREFIX.length).split("/");
    if (!kind || !id || rest.length) continue;
    if (Object.hasOwn(s, kind)) (s[kind as keyof NovanetSnapshot] as Map<string, unknown>).set(id, doc);
  }
  return s;
}

/** Who this host is. */
export interface HostIdentity {
  name: string;
  underlayIp: string;
  /** The host bridge carrying the external network; without it routers get no external leg. */
  externalBridge?: string;
  /** Whether a VM's namespace exists (veth ports into a missing one are left out). */
  netnsExists?: (name: string) => boolean;
  /** MTU inside every VPC on this host; default: the driver's (the OVN driver's tunnels need 1442). */
  mtu?: number;
}

/** The desired state and what was left out, with why. */
export interface HostPlan {
  state: HostNetworkState;
  skipped: { port: string; reason: string }[];
}

/** A rule of novanet's model as the data plane's rule (remote groups resolved through `members`). */
export function dpRule(r: SecurityGroupRule, members: (group: string) => string[]): DpRule {
  const out: DpRule = { direction: r.direction, ethertype: r.ethertype };
  if (r.protocol !== undefined) out.protocol = /^\d+$/.test(r.protocol) ? Number(r.protocol) : (r.protocol as "tcp" | "udp" | "icmp" | "icmpv6");
  if (r.portMin !== undefined) out.portMin = r.portMin;
  if (r.portMax !== undefined) out.portMax = r.portMax;
  if (r.icmpType !== undefined) out.icmpType = r.icmpType;
  if (r.icmpCode !== undefined) out.icmpCode = r.icmpCode;
  if (r.remoteCidr) out.remote = { cidr: r.remoteCidr };
  else if (r.remoteGroup) out.remote = { groupId: r.remoteGroup, memberIps: members(r.remoteGroup) };
  return out;
}

/** The addresses of every group's members (ports on any host), for remote-group rules; memoised. */
export function groupMembers(snap: NovanetSnapshot): (group: string) => string[] {
  const cache = new Map<string, string[]>();
  return (g) => {
    let m = cache.get(g);
    if (!m) {
      m = [...snap.ports.values()].filter((p) => p.securityGroups.includes(g)).flatMap((p) => p.fixedIps).sort();
      cache.set(g, m);
    }
    return m;
  };
}

/** The data plane's view of a VPC's subnets; `attached` are those with a router (they get their gateway). */
export function subnetStates(subnets: readonly Subnet[], attached: ReadonlySet<string>): VpcState["subnets"] {
  return subnets.map((s) => ({
    id: s.id,
    cidr: s.cidr,
    ...(attached.has(s.id) ? { gatewayIp: s.gatewayIp } : {}),
    ...(s.dhcp && s.dhcpServerIp ? { dhcp: { serverIp: s.dhcpServerIp, dnsServers: s.dnsServers.filter((d) => isIP(d) === s.ipVersion) } } : {}),
  }));
}

/**
 * The data plane's view of `router`: its external leg on `bridge` (none without a bridge or an
 * external gateway) and the floating IPs of the ports whose addresses are in `portIps`.
 */
export function routerState(snap: NovanetSnapshot, router: Router, bridge: string | undefined, portIps: ReadonlySet<string>): NonNullable<VpcState["router"]> {
  const ext = router.externalGateway && bridge ? router.externalGateway : undefined;
  const v6 = ext?.ip6 && ext.gatewayIp6 ? { ip6: `${ext.ip6}/${ext.prefix6}`, gatewayIp6: ext.gatewayIp6 } : {};
  return {
    ...(ext ? { external: { bridge: bridge!, ip: `${ext.ip}/${ext.prefix}`, gatewayIp: ext.gatewayIp, snat: ext.snat, ...v6 } } : {}),
    floatingIps: ext
      ? [...snap.fips.values()].filter((f) => f.router === router.id && f.fixedIp && portIps.has(f.fixedIp)).map((f) => ({ ip: f.ip, fixedIp: f.fixedIp! })).sort((a, b) => a.ip.localeCompare(b.ip))
      : [],
  };
}

/** Computes the host's desired state from a snapshot (see the file comment). */
export function planHostState(snap: NovanetSnapshot, me: HostIdentity): HostPlan {
  const skipped: HostPlan["skipped"] = [];
  const hostIp = (name: string | undefined) => (name ? snap.hosts.get(name)?.underlayIp : undefined);
  const local: Port[] = [];
  const vethTargets = new Set<string>();
  for (const p of [...snap.ports.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    if (p.host !== me.name) continue;
    if (!snap.vpcs.has(p.vpc) || !snap.subnets.has(p.subnet)) {
      skipped.push({ port: p.id, reason: "its VPC or subnet is gone" });
      continue;
    }
    if (p.fixedIps.length === 0) {
      skipped.push({ port: p.id, reason: "no address" });
      continue;
    }
    if (p.netns) {
      if (me.netnsExists && !me.netnsExists(p.netns)) {
        skipped.push({ port: p.id, reason: `network namespace ${p.netns} does not exist` });
        continue;
      }
      if (vethTargets.has(p.netns)) {
        skipped.push({ port: p.id, reason: `another port already plugs into namespace ${p.netns}` });
        continue;
      }
      vethTargets.add(p.netns);
    }
    local.push(p);
  }

  const members = groupMembers(snap);

  const vpcs: VpcState[] = [];
  const vpcIds = [...new Set(local.map((p) => p.vpc))].sort();
  for (const vid of vpcIds) {
    const vpc = snap.vpcs.get(vid)!;
    const router = [...snap.routers.values()].find((r) => r.vpc === vid);
    const attached = new Set(router?.subnets ?? []);
    const subnets = [...snap.subnets.values()].filter((s) => s.vpc === vid).sort((a, b) => a.id.localeCompare(b.id));
    const ports: PortState[] = local.filter((p) => p.vpc === vid).map((p) => ({
      id: p.id,
      mac: p.mac,
      ips: [...p.fixedIps],
      securityGroups: [...p.securityGroups].sort(),
      portSecurity: p.portSecurity,
      device: p.netns ? { kind: "veth", netns: p.netns, configure: true } : { kind: "tap" },
    }));
    const remoteEndpoints = [...snap.ports.values()]
      .filter((p) => p.vpc === vid && p.host && p.host !== me.name && p.fixedIps.length > 0)
      .flatMap((p) => {
        const ip = hostIp(p.host);
        return ip && ip !== me.underlayIp ? [{ mac: p.mac, ips: [...p.fixedIps], hostIp: ip }] : [];
      })
      .sort((a, b) => a.mac.localeCompare(b.mac));
    const state: VpcState = {
      id: vid,
      vni: vpc.vni,
      ...(me.mtu ? { mtu: me.mtu } : {}),
      subnets: subnetStates(subnets, attached),
      ports,
      remoteEndpoints,
    };
    if (router) state.router = routerState(snap, router, me.externalBridge, new Set(ports.flatMap((p) => p.ips)));
    vpcs.push(state);
  }

  const groupIds = [...new Set(local.flatMap((p) => p.securityGroups))].sort();
  const securityGroups: SecurityGroupState[] = groupIds.map((id) => {
    const g = snap.secgroups.get(id);
    // A group that vanished filters as "allow nothing", never as "no filtering".
    return { id, rules: g ? g.rules.map((r) => dpRule(r, members)) : [] };
  });
  return { state: { underlayIp: me.underlayIp, vpcs, securityGroups }, skipped };
}
