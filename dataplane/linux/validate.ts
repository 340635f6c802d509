/**
 * Validation of a desired {@link HostNetworkState}: shape (zod, unknown fields rejected) and
 * meaning (CIDRs, containment, uniqueness, conntrack zones). Produces the normalised model the
 * planner works from, with every default filled in. A bad state throws `DATAPLANE:InvalidState`
 * before anything on the host is touched.
 */
import { isIPv4, isIP } from "node:net";
import { z } from "zod";
import { DataplaneErrors } from "../errors.ts";
import type { HostNetworkState, PortState, RouterState, SecurityGroupState, SubnetState } from "../vpc-dataplane.ts";
import { bigToIp, cidrContains, cidrOverlap, cidrText, ipToBig, parseCidr, type Cidr } from "./ip.ts";
import { routerMac } from "./names.ts";

const ipv4 = z.string().refine((s) => isIPv4(s), "not an IPv4 address");
const mac = z
  .string()
  .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "not a lower-case MAC")
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, "not a unicast MAC");
const anyIp = z.string().refine((s) => isIP(s) !== 0, "not an IP address");
const cidr = z.string().refine((s) => parseCidr(s)?.version === 4, "not an IPv4 CIDR");
const cidr6 = z.string().refine((s) => parseCidr(s)?.version === 6, "not an IPv6 CIDR");
const ipv6 = z.string().refine((s) => isIP(s) === 6, "not an IPv6 address");
const subnetCidr = z.string().refine((s) => parseCidr(s) !== undefined, "not an IPv4 or IPv6 CIDR");
/** The canonical text of an address (IPv6 compressed lower case), as the kernel reports it. */
const canon = (ip: string) => {
  const n = ipToBig(ip);
  return n ? bigToIp(n.value, n.version) : ip;
};
const anyCidr = z.string().refine((s) => {
  const [a, p, ...rest] = s.split("/");
  const v = isIP(a ?? "");
  return rest.length === 0 && v !== 0 && (p === undefined || (/^\d+$/.test(p) && Number(p) <= (v === 4 ? 32 : 128)));
}, "not an IP address or CIDR");
const id = z.string().min(1).max(200);
const port16 = z.number().int().min(0).max(65535);

const ruleSchema = z
  .object({
    direction: z.enum(["ingress", "egress"]),
    ethertype: z.enum(["ipv4", "ipv6"]).optional(),
    protocol: z.union([z.enum(["tcp", "udp", "icmp", "icmpv6"]), z.number().int().min(0).max(255)]).optional(),
    portMin: port16.optional(),
    portMax: port16.optional(),
    icmpType: z.number().int().min(0).max(255).optional(),
    icmpCode: z.number().int().min(0).max(255).optional(),
    remote: z
      .union([
        z.object({ cidr: anyCidr }).strict(),
        z.object({ groupId: id, memberIps: z.array(z.string().refine((s) => isIP(s) !== 0, "not an IP")) }).strict(),
      ])
      .optional(),
  })
  .strict();

const stateSchema = z
  .object({
    underlayIp: ipv4,
    vpcs: z.array(
      z
        .object({
          id,
          vni: z.number().int().min(1).max(0xffffff),
          ctZone: z.number().int().min(1).max(65535).optional(),
          mtu: z.number().int().min(576).max(9000).optional(),
          subnets: z.array(
            z
              .object({
                id,
                cidr: subnetCidr,
                gatewayIp: anyIp.optional(),
                dhcp: z
                  .object({
                    serverIp: anyIp,
                    dnsServers: z.array(anyIp),
                    leaseSeconds: z.number().int().min(120).max(31536000).optional(),
                  })
                  .strict()
                  .optional(),
              })
              .strict(),
          ),
          ports: z.array(
            z
              .object({
                id,
                mac,
                ips: z.array(anyIp),
                securityGroups: z.array(id),
                portSecurity: z.boolean().optional(),
                device: z.union([
                  z
                    .object({
                      kind: z.literal("veth"),
                      netns: z.string().regex(/^[A-Za-z0-9_.-]{1,200}$/, "not a namespace name"),
                      ifname: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, "not an interface name").optional(),
                      configure: z.boolean().optional(),
                    })
                    .strict(),
                  z.object({ kind: z.literal("tap") }).strict(),
                ]),
              })
              .strict(),
          ),
          remoteEndpoints: z.array(z.object({ mac, ips: z.array(anyIp), hostIp: ipv4 }).strict()),
          router: z
            .object({
              gatewayMac: mac.optional(),
              external: z
                .object({
                  bridge: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, "not an interface name"),
                  ip: cidr,
                  gatewayIp: ipv4,
                  snat: z.boolean().optional(),
                  ip6: cidr6.optional(),
                  gatewayIp6: ipv6.optional(),
                })
                .strict()
                .refine((x) => (x.ip6 === undefined) === (x.gatewayIp6 === undefined), { message: "ip6 and gatewayIp6 go together", path: ["ip6"] })
                .optional(),
              floatingIps: z.array(z.object({ ip: ipv4, fixedIp: ipv4 }).strict()),
            })
            .strict()
            .optional(),
        })
        .strict(),
    ),
    securityGroups: z.array(z.object({ id, rules: z.array(ruleSchema) }).strict()),
  })
  .strict();

/** A subnet with its parsed CIDR. */
export interface NSubnet extends SubnetState {
  net: Cidr;
  /** Canonical network text (`10.0.0.0/24`). */
  network: string;
}

/** A port with its addresses resolved to subnets. */
export interface NPort extends PortState {
  /** `ip/prefix` of each fixed IP, in the order given (IPv6 in canonical text). */
  addrs: string[];
  /** Default IPv4 gateway for the port (the gateway of its first IPv4 address's subnet), if any. */
  gateway?: string;
  /** Default IPv6 gateway for the port (the gateway of its first IPv6 address's subnet), if any. */
  gateway6?: string;
}

/** A normalised VPC. */
export interface NVpc {
  id: string;
  vni: number;
  ctZone: number;
  mtu: number;
  subnets: NSubnet[];
  ports: NPort[];
  remoteEndpoints: HostNetworkState["vpcs"][number]["remoteEndpoints"];
  router?: RouterState & { gatewayMac: string };
}

/** A normalised host state. */
export interface NState {
  underlayIp: string;
  vpcs: NVpc[];
  securityGroups: Map<string, SecurityGroupState>;
}

function invalid(path: string, msg: string): never {
  throw DataplaneErrors.InvalidState(`${path}: ${msg}`, { details: { field: path } });
}

/**
 * Validates `desired` and fills defaults.
 * @throws PhotonError `DATAPLANE:InvalidState` naming the first bad field.
 */
export function validateState(desired: HostNetworkState): NState {
  const parsed = stateSchema.safeParse(desired);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    invalid(issue.path.join(".") || "(root)", issue.message);
  }
  const s = parsed.data as HostNetworkState;
  const groups = new Map<string, SecurityGroupState>();
  s.securityGroups.forEach((g, i) => {
    if (groups.has(g.id)) invalid(`securityGroups.${i}.id`, `duplicate group ${g.id}`);
    g.rules.forEach((r, j) => {
      const p = `securityGroups.${i}.rules.${j}`;
      const ported = r.protocol === "tcp" || r.protocol === "udp";
      if ((r.portMin !== undefined || r.portMax !== undefined) && !ported) invalid(p, "ports need protocol tcp or udp");
      if ((r.portMin ?? 0) > (r.portMax ?? 65535)) invalid(p, "portMin > portMax");
      const icmp = r.protocol === "icmp" || r.protocol === "icmpv6";
      if ((r.icmpType !== undefined || r.icmpCode !== undefined) && !icmp) invalid(p, "icmpType/icmpCode need protocol icmp or icmpv6");
      if (r.icmpCode !== undefined && r.icmpType === undefined) invalid(p, "icmpCode needs icmpType");
      const fam = r.ethertype ?? "ipv4";
      if ((r.protocol === "icmp" && fam !== "ipv4") || (r.protocol === "icmpv6" && fam !== "ipv6")) {
        invalid(p, `protocol ${r.protocol} does not match ethertype ${fam}`);
      }
      if (r.remote && "cidr" in r.remote && (isIP(r.remote.cidr.split("/")[0]!) === 4) !== (fam === "ipv4")) {
        invalid(p, "remote cidr family does not match ethertype");
      }
    });
    groups.set(g.id, g);
  });

  const vnis = new Set<number>();
  const zones = new Map<number, number>();
  const portIds = new Set<string>();
  const vethTargets = new Set<string>();
  const vpcs: NVpc[] = s.vpcs.map((v, i) => {
    const vp = `vpcs.${i}`;
    if (vnis.has(v.vni)) invalid(`${vp}.vni`, `duplicate VNI ${v.vni}`);
    vnis.add(v.vni);
    const ctZone = v.ctZone ?? (v.vni & 0xffff);
    if (ctZone === 0) invalid(`${vp}.ctZone`, "VNI & 0xffff is 0: give ctZone explicitly");
    if (zones.has(ctZone)) invalid(`${vp}.ctZone`, `zone ${ctZone} already used by VNI ${zones.get(ctZone)}: give ctZone explicitly`);
    zones.set(ctZone, v.vni);

    const subnets: NSubnet[] = v.subnets.map((sn, j) => {
      const net = parseCidr(sn.cidr)!;
      const sp = `${vp}.subnets.${j}`;
      if (net.prefix > (net.version === 4 ? 30 : 126)) invalid(`${sp}.cidr`, `prefix longer than /${net.version === 4 ? 30 : 126}`);
      if (sn.gatewayIp && !cidrContains(net, sn.gatewayIp)) invalid(`${sp}.gatewayIp`, "outside the subnet");
      if (sn.dhcp && !cidrContains(net, sn.dhcp.serverIp)) invalid(`${sp}.dhcp.serverIp`, "outside the subnet");
      const gatewayIp = sn.gatewayIp ? { gatewayIp: canon(sn.gatewayIp) } : {};
      const dhcp = sn.dhcp ? { dhcp: { ...sn.dhcp, serverIp: canon(sn.dhcp.serverIp) } } : {};
      return { ...sn, ...gatewayIp, ...dhcp, net, network: cidrText(net) };
    });
    subnets.forEach((a, j) =>
      subnets.slice(0, j).forEach((b) => {
        if (cidrOverlap(a.net, b.net)) invalid(`${vp}.subnets.${j}.cidr`, `overlaps ${b.cidr}`);
      }),
    );
    const subnetOf = (ip: string) => subnets.find((sn) => cidrContains(sn.net, ip));

    const ips = new Set<string>();
    const macs = new Set<string>();
    const ports: NPort[] = v.ports.map((p, j) => {
      const pp = `${vp}.ports.${j}`;
      if (portIds.has(p.id)) invalid(`${pp}.id`, `duplicate port ${p.id}`);
      portIds.add(p.id);
      if (macs.has(p.mac)) invalid(`${pp}.mac`, `duplicate MAC ${p.mac} in the VPC`);
      macs.add(p.mac);
      if (p.device.kind === "veth") {
        const target = `${p.device.netns}/${p.device.ifname ?? "eth0"}`;
        if (vethTargets.has(target)) invalid(`${pp}.device`, `${target} used by two ports`);
        vethTargets.add(target);
      }
      const pips = p.ips.map(canon);
      const addrs = pips.map((ip, k) => {
        const sn = subnetOf(ip);
        if (!sn) invalid(`${pp}.ips.${k}`, `${ip} is in no subnet of the VPC`);
        if (ips.has(ip)) invalid(`${pp}.ips.${k}`, `${ip} used twice in the VPC`);
        ips.add(ip);
        return `${ip}/${sn.net.prefix}`;
      });
      p.securityGroups.forEach((g, k) => {
        if (!groups.has(g)) invalid(`${pp}.securityGroups.${k}`, `unknown security group ${g}`);
      });
      const first4 = pips.find((ip) => isIPv4(ip));
      const first6 = pips.find((ip) => !isIPv4(ip));
      const gateway = first4 ? subnetOf(first4)?.gatewayIp : undefined;
      const gateway6 = first6 ? subnetOf(first6)?.gatewayIp : undefined;
      return { ...p, ips: pips, addrs, ...(gateway ? { gateway } : {}), ...(gateway6 ? { gateway6 } : {}) };
    });
    v.remoteEndpoints.forEach((r, j) => {
      if (macs.has(r.mac)) invalid(`${vp}.remoteEndpoints.${j}.mac`, `MAC ${r.mac} is also a local port`);
      if (r.hostIp === s.underlayIp) invalid(`${vp}.remoteEndpoints.${j}.hostIp`, "is this host");
    });
    const remoteEndpoints = v.remoteEndpoints.map((r) => ({ ...r, ips: r.ips.map(canon) }));
    let router: NVpc["router"];
    if (v.router) {
      router = { ...v.router, gatewayMac: v.router.gatewayMac ?? routerMac(v.vni) };
      v.router.floatingIps.forEach((f, j) => {
        if (!ips.has(f.fixedIp)) invalid(`${vp}.router.floatingIps.${j}.fixedIp`, "is not a local port's IP");
      });
      if (v.router.floatingIps.length > 0 && !v.router.external) invalid(`${vp}.router.floatingIps`, "need an external network");
    }
    return {
      id: v.id,
      vni: v.vni,
      ctZone,
      mtu: v.mtu ?? 1450,
      subnets,
      ports,
      remoteEndpoints,
      ...(router ? { router } : {}),
    };
  });
  return { underlayIp: s.underlayIp, vpcs, securityGroups: groups };
}
