/**
 * The desired northbound rows for a validated state: a pure function, no I/O. Each row names its
 * table, its tag (kind + novanet id) and the columns the driver manages; references to other
 * desired rows are {@link Ref}s, resolved to uuids (or uuid-names) by the converger.
 *
 * Layout: one Logical_Switch per VPC (the model's VPC is one L2 segment holding all its subnets),
 * one Logical_Router per VPC router with one port holding every subnet gateway, one
 * DHCP_Options per DHCP subnet (DHCPv4, or stateful DHCPv6 with router advertisements carrying the Managed flag), one Logical_Switch per external network (localnet port) shared by
 * the routers on it, SNAT per subnet and dnat_and_snat per floating IP on the router, a
 * Port_Group per security group plus the default-drop group. See docs/adr/0009-ovn-driver.md.
 */
import { DataplaneErrors } from "../errors.ts";
import { cidrContains } from "../linux/ipv4.ts";
import { dhcpMac, routerExtMac } from "../linux/names.ts";
import type { NState, NVpc } from "../linux/validate.ts";
import { dropAcls, ruleAcl } from "./acl.ts";
import {
  DROP_PG, extLsName, localnetName, lrName, lrpGwName, lrpName, lsName, lspName, pgName, shortHash, type RowKind,
} from "./names.ts";

/** A reference to another desired row (by its key). */
export interface Ref {
  ref: string;
}

/** A desired column value: the replica's JS shape, with {@link Ref}s where uuids go. */
export type DesiredValue = string | number | boolean | (string | Ref)[] | Record<string, string> | Ref;

/** One desired row. */
export interface DesiredRow {
  table: string;
  kind: RowKind;
  /** novanet id the row stands for (unique per table and kind). */
  id: string;
  /** Managed columns (external_ids excluded: the converger adds the tag). */
  columns: Record<string, DesiredValue>;
  /** More external_ids beside the tag (informational, e.g. the VPC's VNI). */
  extraIds?: Record<string, string>;
}

/** Key of a row: table, kind and id. */
export const rowKey = (table: string, kind: string, id: string): string => `${table}|${kind}|${id}`;
const ref = (table: string, kind: RowKind, id: string): Ref => ({ ref: rowKey(table, kind, id) });

/** Options that are not part of the desired state (deployment facts). */
export interface NbModelOptions {
  /**
   * Chassis names (ovn-controller `system-id`s) that may host routers' gateway ports, by
   * priority, highest first. Required when any router has an external network (NAT in OVN
   * needs a gateway chassis).
   */
  gatewayChassis?: string[];
}

/**
 * Desired rows for `s`.
 * @throws PhotonError `DATAPLANE:InvalidState` when a router has an external network but no
 *   gateway chassis is configured.
 */
export function buildNbRows(s: NState, opts: NbModelOptions = {}): DesiredRow[] {
  const rows: DesiredRow[] = [];
  const external = new Map<string, Ref[]>(); // network name -> router-gateway LSP refs
  const add: Add = (table, kind, id, columns, extraIds) => {
    rows.push({ table, kind, id, columns, ...(extraIds ? { extraIds } : {}) });
    return ref(table, kind, id);
  };

  for (const [i, v] of s.vpcs.entries()) vpcRows(v, i, add, external, opts);

  for (const [network, gwPorts] of [...external].sort(([a], [b]) => a.localeCompare(b))) {
    const ln = add("Logical_Switch_Port", "localnet", network, {
      name: localnetName(network),
      type: "localnet",
      addresses: ["unknown"],
      options: { network_name: network },
    });
    add("Logical_Switch", "external-net", network, { name: extLsName(network), ports: [ln, ...gwPorts] });
  }

  const filtered: Ref[] = [];
  const members = new Map<string, Ref[]>();
  for (const v of s.vpcs) {
    for (const p of v.ports) {
      if (p.securityGroups.length === 0) continue;
      const r = ref("Logical_Switch_Port", "port", p.id);
      filtered.push(r);
      for (const g of new Set(p.securityGroups)) {
        const list = members.get(g);
        if (list) list.push(r);
        else members.set(g, [r]);
      }
    }
  }
  for (const g of s.securityGroups.values()) {
    const pg = pgName(g.id);
    const acls = new Map<string, Ref>();
    for (const rule of g.rules) {
      const acl = ruleAcl(pg, rule);
      if (!acl) continue;
      const id = `${g.id}/${shortHash(acl)}`;
      if (acls.has(id)) continue;
      acls.set(id, add("ACL", "rule", id, { ...acl }));
    }
    add("Port_Group", "secgroup", g.id, { name: pg, ports: members.get(g.id) ?? [], acls: [...acls.values()] });
  }
  if (filtered.length > 0) {
    const acls = dropAcls(DROP_PG).map(({ key, acl }) => add("ACL", "default-acl", key, { ...acl }));
    add("Port_Group", "secgroup-drop", "default", { name: DROP_PG, ports: filtered, acls });
  }
  return rows;
}

/**
 * A subnet's DHCP_Options `options`. DHCPv4: server address and MAC, lease, MTU, router, DNS.
 * DHCPv6 (stateful; OVN answers from the port's fixed IPv6 address): the server's DUID is built
 * from `server_id`, a MAC; the default route comes from the router's advertisements instead.
 */
function dhcpOptions(v: NVpc, sn: NVpc["subnets"][number], gatewayMac: string | undefined): Record<string, string> {
  const dns = sn.dhcp!.dnsServers.filter((a) => a.includes(":") === (sn.net.version === 6));
  if (sn.net.version === 6) {
    const options: Record<string, string> = { server_id: gatewayMac ?? dhcpMac(v.vni) };
    if (dns.length > 0) options.dns_server = `{${dns.join(", ")}}`;
    return options;
  }
  const options: Record<string, string> = {
    server_id: sn.dhcp!.serverIp,
    server_mac: gatewayMac ?? dhcpMac(v.vni),
    lease_time: String(sn.dhcp!.leaseSeconds ?? 86400),
    mtu: String(v.mtu),
  };
  if (sn.gatewayIp) options.router = sn.gatewayIp;
  if (dns.length > 0) options.dns_server = `{${dns.join(", ")}}`;
  return options;
}

type Add = (table: string, kind: RowKind, id: string, columns: Record<string, DesiredValue>, extraIds?: Record<string, string>) => Ref;

function vpcRows(v: NVpc, index: number, add: Add, external: Map<string, Ref[]>, opts: NbModelOptions): void {
  const gatewayMac = v.router?.gatewayMac;
  const dhcpBySubnet = new Map<string, Ref>();
  for (const sn of v.subnets) {
    if (!sn.dhcp) continue;
    dhcpBySubnet.set(sn.id, add("DHCP_Options", "dhcp", sn.id, { cidr: sn.network, options: dhcpOptions(v, sn, gatewayMac) }));
  }
  const dhcpOf = (p: NVpc["ports"][number], version: 4 | 6): Ref[] => {
    const ip = p.ips.find((a) => a.includes(":") === (version === 6));
    const sn = ip ? v.subnets.find((x) => x.net.version === version && cidrContains(x.net, ip)) : undefined;
    const dhcp = sn ? dhcpBySubnet.get(sn.id) : undefined;
    return dhcp ? [dhcp] : [];
  };

  const ports: Ref[] = [];
  for (const p of v.ports) {
    const addr = [`${p.mac}${p.ips.length ? " " + p.ips.join(" ") : ""}`];
    ports.push(
      add("Logical_Switch_Port", "port", p.id, {
        name: lspName(p.id),
        type: "",
        addresses: addr,
        port_security: p.portSecurity === false ? [] : addr,
        dhcpv4_options: dhcpOf(p, 4),
        dhcpv6_options: dhcpOf(p, 6),
      }),
    );
  }

  if (v.router) {
    const r = v.router;
    const lrPorts: Ref[] = [];
    const networks = v.subnets.filter((sn) => sn.gatewayIp).map((sn) => `${sn.gatewayIp}/${sn.net.prefix}`);
    if (networks.length > 0) {
      const v6 = v.subnets.some((sn) => sn.gatewayIp && sn.net.version === 6);
      lrPorts.push(
        add("Logical_Router_Port", "router-port", v.id, {
          name: lrpName(v.id),
          mac: r.gatewayMac,
          networks,
          // Router advertisements with the Managed flag: addresses come from DHCPv6 (ADR 0016).
          ipv6_ra_configs: v6 ? { address_mode: "dhcpv6_stateful", send_periodic: "true", mtu: String(v.mtu) } : {},
        }),
      );
      ports.push(
        add("Logical_Switch_Port", "router-port", v.id, {
          name: `${lrpName(v.id)}-ls`,
          type: "router",
          addresses: ["router"],
          options: { "router-port": lrpName(v.id) },
        }),
      );
    }
    const nat: Ref[] = [];
    const routes: Ref[] = [];
    if (r.external) {
      const ext = r.external;
      const chassis = opts.gatewayChassis ?? [];
      if (chassis.length === 0) {
        throw DataplaneErrors.InvalidState(`vpcs.${index}.router.external: the OVN driver needs gatewayChassis (driver option) for routers with an external network`, {
          details: { field: `vpcs.${index}.router.external` },
        });
      }
      const gcs = chassis.map((c, k) =>
        add("Gateway_Chassis", "gateway-chassis", `${v.id}/${c}`, {
          name: `${lrpGwName(v.id)}-${c}`,
          chassis_name: c,
          priority: Math.max(1, 32767 - k),
        }),
      );
      lrPorts.push(
        add("Logical_Router_Port", "router-gateway", v.id, {
          name: lrpGwName(v.id),
          mac: routerExtMac(v.vni),
          networks: ext.ip6 ? [ext.ip, ext.ip6] : [ext.ip],
          gateway_chassis: gcs,
        }),
      );
      const gwLsp = add("Logical_Switch_Port", "router-gateway", v.id, {
        name: `${lrpGwName(v.id)}-ls`,
        type: "router",
        addresses: ["router"],
        options: { "router-port": lrpGwName(v.id) },
      });
      const onNet = external.get(ext.bridge);
      if (onNet) onNet.push(gwLsp);
      else external.set(ext.bridge, [gwLsp]);
      routes.push(add("Logical_Router_Static_Route", "default-route", v.id, { ip_prefix: "0.0.0.0/0", nexthop: ext.gatewayIp }));
      // IPv6 is routed to the external network, never NATed.
      if (ext.gatewayIp6) routes.push(add("Logical_Router_Static_Route", "default-route6", v.id, { ip_prefix: "::/0", nexthop: ext.gatewayIp6 }));
      const extIp = ext.ip.split("/")[0]!;
      if (ext.snat !== false) {
        for (const sn of v.subnets) {
          if (sn.net.version !== 4) continue; // no NAT66: IPv6 subnets are routed, never SNATed
          nat.push(add("NAT", "snat", `${v.id}/${sn.id}`, { type: "snat", external_ip: extIp, logical_ip: sn.network }));
        }
      }
      for (const f of r.floatingIps) {
        nat.push(add("NAT", "fip", `${v.id}/${f.ip}`, { type: "dnat_and_snat", external_ip: f.ip, logical_ip: f.fixedIp }));
      }
    }
    add("Logical_Router", "router", v.id, { name: lrName(v.id), ports: lrPorts, nat, static_routes: routes });
  }
  add("Logical_Switch", "vpc", v.id, { name: lsName(v.id), ports }, { "novanet:vni": String(v.vni) });
}
