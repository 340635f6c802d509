/**
 * A VPC's router on one host: a network namespace whose `vpc0` leg (on the VPC bridge, the
 * gateway MAC) holds every subnet's gateway address and whose `ext0` leg (on the operator's
 * external bridge) holds the router's external address and its floating IPs as /32s. NAT is one
 * table, `ip photon_router`, replaced atomically: floating IPs as 1:1 DNAT (in) and SNAT (out),
 * then SNAT of the subnets behind the external address. The router is distributed: each host of
 * the VPC runs an identical gateway (same IP and MAC) that never crosses the overlay, because the
 * VXLAN port does not learn and no flooding entry exists.
 *
 * IPv6 subnets: the gateway addresses sit on `vpc0` beside a link-local address derived from the
 * gateway MAC (so it too is the same on every host), the namespace forwards IPv6 (no NAT66), and
 * a dnsmasq that serves no addresses sends router advertisements (default router, Managed flag:
 * addresses come from the VPC's DHCPv6, dhcp.ts).
 */
import { join } from "node:path";
import { addrLines, type AddrInfo, type DhcpPlan } from "./dhcp.ts";
import type { CommandRunner } from "./exec.ts";
import { linkLocalOf } from "./ip.ts";
import { INNER, doneAlias, routerExtMac } from "./names.ts";
import type { NVpc } from "./validate.ts";

/** Name of the router's NAT table. */
export const ROUTER_TABLE = "photon_router";

/** Everything the router namespace must hold. */
export interface RouterPlan {
  ns: string;
  vpcAddrs: string[];
  extAddrs: string[];
  defaultGateway?: string;
  /** IPv6 default route of the namespace (the external network's IPv6 gateway). */
  defaultGateway6?: string;
  nftScript: string;
  /** Completion marker for the router leg's ifalias. */
  alias: string;
  /** The router-advertisement daemon (IPv6 subnets with a gateway), run like the DHCP dnsmasq. */
  ra?: DhcpPlan;
}

/** Plans the router of `v` in namespace `ns`; undefined when the VPC has no router. */
export function planRouter(v: NVpc, ns: string, stateDir: string): RouterPlan | undefined {
  const r = v.router;
  if (!r) return undefined;
  const v6 = v.subnets.filter((s) => s.gatewayIp && s.net.version === 6).sort((a, b) => a.network.localeCompare(b.network));
  const vpcAddrs = [
    ...v.subnets.filter((s) => s.gatewayIp).map((s) => `${s.gatewayIp}/${s.net.prefix}`),
    ...(v6.length ? [`${linkLocalOf(r.gatewayMac)}/64`] : []),
  ].sort();
  const ext = r.external;
  const fips = [...r.floatingIps].sort((a, b) => a.ip.localeCompare(b.ip));
  // An external IPv6 leg also gets a link-local address (neighbour discovery on the external
  // network), derived from the leg's MAC like the VPC leg's.
  const ext6 = ext?.ip6 ? [ext.ip6, `${linkLocalOf(routerExtMac(v.vni))}/64`] : [];
  const extAddrs = ext ? [ext.ip, ...ext6, ...fips.map((f) => `${f.ip}/32`)].sort() : [];
  const lines = [`table ip ${ROUTER_TABLE}`, `delete table ip ${ROUTER_TABLE}`];
  if (ext) {
    const x = INNER.routerExt;
    const pre: string[] = [];
    const post: string[] = [];
    if (fips.length) {
      pre.push(`iifname "${x}" dnat to ip daddr map { ${fips.map((f) => `${f.ip} : ${f.fixedIp}`).join(", ")} }`);
      post.push(`oifname "${x}" snat to ip saddr map { ${fips.map((f) => `${f.fixedIp} : ${f.ip}`).join(", ")} }`);
    }
    const extIp = ext.ip.split("/")[0]!;
    if (ext.snat !== false && v.subnets.length) {
      const v4 = v.subnets.filter((s) => s.net.version === 4);
      if (v4.length) post.push(`oifname "${x}" ip saddr { ${v4.map((s) => s.network).join(", ")} } snat to ${extIp}`);
    }
    lines.push(
      `table ip ${ROUTER_TABLE} {`,
      "  chain prerouting {",
      "    type nat hook prerouting priority dstnat; policy accept;",
      ...pre.map((l) => `    ${l}`),
      "  }",
      "  chain postrouting {",
      "    type nat hook postrouting priority srcnat; policy accept;",
      ...post.map((l) => `    ${l}`),
      "  }",
      "}",
    );
  }
  const nftScript = lines.join("\n") + "\n";
  const plan: RouterPlan = {
    ns,
    vpcAddrs,
    extAddrs,
    nftScript,
    alias: "",
    ...(ext ? { defaultGateway: ext.gatewayIp } : {}),
    ...(ext?.gatewayIp6 ? { defaultGateway6: ext.gatewayIp6 } : {}),
  };
  plan.alias = doneAlias({ ...plan, mac: r.gatewayMac, mtu: v.mtu, bridge: ext?.bridge });
  if (v6.length) {
    const dir = join(stateDir, ns);
    const conf = [
      `interface=${INNER.routerVpc}`,
      "bind-interfaces",
      "except-interface=lo",
      "port=0",
      "no-resolv",
      "no-hosts",
      "no-poll",
      "leasefile-ro",
      `pid-file=${join(dir, "dnsmasq.pid")}`,
      `log-facility=${join(dir, "dnsmasq.log")}`,
      `dhcp-hostsfile=${join(dir, "hosts")}`,
      `dhcp-optsfile=${join(dir, "opts")}`,
      "enable-ra",
      `ra-param=${INNER.routerVpc},mtu:${v.mtu},30,1800`,
      // Stateful ranges set the Managed flag; no client is known here, so none gets an answer.
      ...v6.map((s, i) => `dhcp-range=set:sn${i},${s.network.split("/")[0]},static,${s.net.prefix},86400s`),
      "dhcp-ignore=tag:!known",
    ].join("\n") + "\n";
    plan.ra = { ns, dir, addrs: [], metadata: false, conf, hosts: "", opts: "", alias: "" };
  }
  return plan;
}

/**
 * Converges the addresses, default route, forwarding sysctls and NAT table inside the router
 * namespace (whose legs already exist). Returns the changes made.
 */
export async function configureRouterNs(run: CommandRunner, plan: RouterPlan): Promise<string[]> {
  const [addrs, routes, routes6] = await Promise.all([
    run.ipJson<AddrInfo>(plan.ns, ["addr", "show"]),
    run.ipJson<{ dst: string; gateway?: string; dev?: string }>(plan.ns, ["-4", "route", "show", "default"]),
    run.ipJson<{ dst: string; gateway?: string; dev?: string }>(plan.ns, ["-6", "route", "show", "default"]),
  ]);
  const lines = ["link set lo up", `link set ${INNER.routerVpc} addrgenmode none`, `link set ${INNER.routerVpc} up`];
  const want: Record<string, string[]> = { [INNER.routerVpc]: plan.vpcAddrs, [INNER.routerExt]: plan.extAddrs };
  for (const [dev, wanted] of Object.entries(want)) {
    const cur = addrs.find((a) => a.ifname === dev);
    if (!cur) continue;
    if (dev === INNER.routerExt) lines.push(`link set ${dev} addrgenmode none`);
    lines.push(...addrLines(dev, cur, wanted));
    if (dev === INNER.routerExt) lines.push(`link set ${dev} up`);
  }
  const gw = routes.find((r) => r.dst === "default");
  if (plan.defaultGateway && (gw?.gateway !== plan.defaultGateway || gw?.dev !== INNER.routerExt)) {
    lines.push(`route replace default via ${plan.defaultGateway} dev ${INNER.routerExt}`);
  } else if (!plan.defaultGateway && gw) {
    lines.push("route del default");
  }
  const gw6 = routes6.find((r) => r.dst === "default");
  if (plan.defaultGateway6 && (gw6?.gateway !== plan.defaultGateway6 || gw6?.dev !== INNER.routerExt)) {
    lines.push(`route replace default via ${plan.defaultGateway6} dev ${INNER.routerExt}`);
  } else if (!plan.defaultGateway6 && gw6) {
    lines.push(gw6.gateway ? `route del default via ${gw6.gateway}` : `route del ::/0 dev ${gw6.dev}`);
  }
  await run.ipBatch(plan.ns, lines);
  const sysctl =
    "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects && " +
    "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding && " +
    `echo 0 > /proc/sys/net/ipv4/conf/${INNER.routerVpc}/send_redirects && nft -f -`;
  await run.run(run.inNs(plan.ns, ["sh", "-c", sysctl]), plan.nftScript);
  return [...lines.map((l) => `ip -n ${plan.ns} ${l}`), `nft -f - (router ${plan.ns})`];
}
