/**
 * The OVN driver against a real OVN central started here (NB + SB ovsdb-servers and ovn-northd in
 * a temporary directory, userspace): the northbound rows match the model, northd turns them into
 * logical flows, re-applies change nothing, changes and deletions converge exactly, drift is
 * repaired, rows not ours are never touched, and bad input changes nothing. Skips with the reason
 * when OVN is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { OvsdbClient, type Replica, type Row } from "../../lib/ovsdb/index.ts";
import { DROP_PG, lrName, lsName, lspName, pgName } from "./names.ts";
import { NB_DB, OvnVpcDataplane } from "./ovn-dataplane.ts";
import { OWNED_TABLES, ownedTag } from "./converge.ts";
import { nbState } from "./testdata/nb-state.ts";
import { ovnUnavailable, startOvnCentral, type OvnCentral } from "./testbed.ts";

const reason = ovnUnavailable();
if (reason) console.log(`skipping the OVN driver tests: ${reason}`);

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

describe.skipIf(reason !== undefined)("OVN driver against ovsdb-server + ovn-northd", () => {
  let central: OvnCentral;
  let dp: OvnVpcDataplane;
  let nbc: OvsdbClient;
  let sbc: OvsdbClient;
  let nb: Replica;
  let sb: Replica;

  const rows = (t: string) => [...nb.rows(t).values()];
  const named = (t: string, name: string) => rows(t).find((r) => r.name === name);
  const owned = (t: string) => rows(t).filter((r) => ownedTag(r));
  const refs = (t: string, uuids: unknown) => (uuids as string[]).map((u) => nb.get(t, u)!);
  const names = (rs: Row[]) => rs.map((r) => r.name as string).sort();
  const nbTxn = () => nbc.transaction(NB_DB);
  let syncN = 0;
  /**
   * Makes the observer's replica current: a write on the observer's own connection is answered
   * only after its monitor update, and updates arrive in commit order, so every commit before it
   * (the driver's, on another connection) is in the replica once it returns.
   */
  const sync = async () => {
    await (await nbTxn()).update("Address_Set", [["name", "==", "test_sync"]], { external_ids: { n: String(++syncN) } }).commit();
  };
  const apply = async (...a: Parameters<OvnVpcDataplane["apply"]>) => {
    try {
      return await dp.apply(...a);
    } finally {
      await sync();
    }
  };

  beforeAll(async () => {
    central = await startOvnCentral();
    nbc = await OvsdbClient.connect({ remote: central.nb.remote });
    nb = await nbc.monitor(NB_DB, [...OWNED_TABLES, "Address_Set"]);
    sbc = await OvsdbClient.connect({ remote: central.sb.remote });
    sb = await sbc.monitor("OVN_Southbound", ["Logical_Flow", "Logical_DP_Group", "Datapath_Binding", "Port_Binding"]);
    // An operator's rows that novanet must never touch.
    await (await nbTxn())
      .insert("Logical_Switch_Port", { name: "operator-port", addresses: ["02:aa:00:00:00:01 192.168.9.9"] }, "op")
      .insert("Logical_Switch", { name: "operator-ls", ports: ["op"], external_ids: { owner: "operator" } })
      .insert("Port_Group", { name: "operator_pg", ports: [] })
      .insert("DHCP_Options", { cidr: "192.168.9.0/24", options: { lease_time: "60" } })
      .insert("Address_Set", { name: "test_sync" })
      .commit();
    dp = new OvnVpcDataplane({ nbRemote: central.nb.remote, gatewayChassis: ["gw-chassis-1", "gw-chassis-2"] });
  });

  afterAll(async () => {
    await dp?.close();
    nbc?.close();
    sbc?.close();
    await central?.stop();
  });

  /** Rows without northd's writes (`up`) and versions, so only content changes show. */
  const content = (r: Row): Row => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "up" && k !== "_version"));
  const foreignSnapshot = () =>
    JSON.stringify(
      OWNED_TABLES.flatMap((t) => rows(t).filter((r) => !ownedTag(r)).map((r): Row => ({ t, ...content(r) })))
        .sort((a, b) => String(a._uuid).localeCompare(String(b._uuid))),
    );
  let foreignBefore = "";

  it("writes the model into the northbound database in one apply", async () => {
    foreignBefore = foreignSnapshot();
    const res = await apply(nbState());
    expect(res.changes).toBeGreaterThan(30);
    expect(res.actions).toContain("insert Logical_Switch vpc:vpc-t1");

    // Logical switches: one per VPC, holding its ports and the router's port.
    const ls1 = named("Logical_Switch", lsName("vpc-t1"))!;
    expect(ls1.external_ids).toEqual({ "novanet:kind": "vpc", "novanet:id": "vpc-t1", "novanet:vni": "100" });
    expect(names(refs("Logical_Switch_Port", ls1.ports))).toEqual(
      [lspName("pa1"), lspName("pa2"), lspName("pa3"), "novanet-rtr-vpc-t1-ls"].sort(),
    );
    expect(names(refs("Logical_Switch_Port", named("Logical_Switch", lsName("vpc-t2"))!.ports))).toEqual([lspName("pb1")]);

    // Ports: addresses, port security, DHCP options of their subnet.
    const pa1 = named("Logical_Switch_Port", lspName("pa1"))!;
    expect(pa1.addresses).toEqual(["02:00:00:00:01:01 10.0.0.5"]);
    expect(pa1.port_security).toEqual(["02:00:00:00:01:01 10.0.0.5"]);
    expect(pa1.external_ids).toEqual({ "novanet:kind": "port", "novanet:id": "pa1" });
    const dhcp = nb.get("DHCP_Options", (pa1.dhcpv4_options as string[])[0]!)!;
    expect(dhcp.cidr).toBe("10.0.0.0/24");
    expect(dhcp.options).toMatchObject({ server_id: "10.0.0.2", router: "10.0.0.1", lease_time: "86400", mtu: "1442", dns_server: "{192.0.2.53, 192.0.2.54}" });
    expect(named("Logical_Switch_Port", lspName("pa3"))!.dhcpv4_options).toEqual([]); // its subnet has no DHCP

    // Router: subnet gateways, external leg on two gateway chassis, default route, SNAT and the FIP.
    const lr = named("Logical_Router", lrName("vpc-t1"))!;
    const lrps = refs("Logical_Router_Port", lr.ports);
    const inner = lrps.find((p) => p.name === "novanet-rtr-vpc-t1")!;
    expect((inner.networks as string[]).sort()).toEqual(["10.0.0.1/24", "10.0.1.1/24"]);
    const gw = lrps.find((p) => p.name === "novanet-rgw-vpc-t1")!;
    expect(gw.networks).toEqual(["203.0.113.10/24"]);
    expect(refs("Gateway_Chassis", gw.gateway_chassis).map((g) => [g.chassis_name, g.priority]).sort()).toEqual([
      ["gw-chassis-1", 32767], ["gw-chassis-2", 32766],
    ]);
    expect(refs("Logical_Router_Static_Route", lr.static_routes).map((r) => [r.ip_prefix, r.nexthop])).toEqual([["0.0.0.0/0", "203.0.113.1"]]);
    expect(refs("NAT", lr.nat).map((n) => `${n.type} ${n.external_ip} ${n.logical_ip}`).sort()).toEqual([
      "dnat_and_snat 203.0.113.20 10.0.0.5", "snat 203.0.113.10 10.0.0.0/24", "snat 203.0.113.10 10.0.1.0/24",
    ]);
    expect(named("Logical_Router", lrName("vpc-t2"))).toBeUndefined();
    const ext = named("Logical_Switch", "novanet-ext-physnet1")!;
    const extPorts = refs("Logical_Switch_Port", ext.ports);
    expect(extPorts.find((p) => p.type === "localnet")!.options).toEqual({ network_name: "physnet1" });

    // Security groups: port groups with allow-related ACLs, a drop group with every filtered port.
    const web = named("Port_Group", pgName("web"))!;
    expect(names(refs("Logical_Switch_Port", web.ports))).toEqual([lspName("pa1")]);
    const webAcls = refs("ACL", web.acls).map((a) => `${a.direction} ${a.priority} ${a.action} ${a.match}`).sort();
    expect(webAcls).toEqual([
      `to-lport 1002 allow-related outport == @${pgName("web")} && ip4 && icmp4 && icmp4.type == 8 && ip4.src == 0.0.0.0/0`,
      `to-lport 1002 allow-related outport == @${pgName("web")} && ip4 && tcp && tcp.dst == 80`,
    ]);
    const d1 = named("Port_Group", pgName("default1"))!;
    expect(refs("ACL", d1.acls).map((a) => a.match).sort()).toEqual([
      `inport == @${pgName("default1")} && ip4`,
      `outport == @${pgName("default1")} && ip4 && ip4.src == {10.0.0.5, 10.0.0.6}`,
    ]);
    const drop = named("Port_Group", DROP_PG)!;
    expect(names(refs("Logical_Switch_Port", drop.ports))).toEqual([lspName("pa1"), lspName("pa2"), lspName("pb1")].sort());
    expect(refs("ACL", drop.acls).map((a) => `${a.direction} ${a.priority} ${a.action}`).sort()).toEqual([
      "from-lport 1001 drop", "from-lport 1002 allow", "from-lport 1002 allow", "to-lport 1001 drop",
    ]);

    // Every row the driver wrote is tagged; nothing of the operator's changed.
    // Every row the driver wrote is tagged (one insert action per row); nothing of the operator's changed.
    expect(OWNED_TABLES.reduce((n, t) => n + owned(t).length, 0)).toBe(res.changes);
    expect(foreignSnapshot()).toBe(foreignBefore);
  });

  it("gets logical flows from ovn-northd for every switch, port, ACL, NAT and DHCP", async () => {
    const dpOf = (name: string) =>
      [...sb.rows("Datapath_Binding").values()].find((d) => (d.external_ids as Record<string, string>).name === name)?._uuid as string | undefined;
    const ls1 = await waitFor("datapath of vpc-t1", () => dpOf(lsName("vpc-t1")));
    const lr1 = await waitFor("datapath of the router", () => dpOf(lrName("vpc-t1")));
    // A flow belongs to one datapath, or to a group of datapaths sharing it (e.g. port-group ACLs).
    const flows = (dp: string) =>
      [...sb.rows("Logical_Flow").values()].filter((f) => {
        if ((f.logical_datapath as string[])[0] === dp) return true;
        const g = (f.logical_dp_group as string[])[0];
        return g !== undefined && (sb.get("Logical_DP_Group", g)?.datapaths as string[] | undefined)?.includes(dp);
      });
    await waitFor("ACL flows", () => flows(ls1).some((f) => String(f.match).includes("tcp.dst == 80")));
    const f1 = flows(ls1);
    // port security of pa1 (MAC) and its DHCP replies with the subnet's options
    expect(f1.some((f) => String(f.match).includes(`inport == "${lspName("pa1")}"`) && String(f.match).includes("02:00:00:00:01:01"))).toBe(true);
    expect(f1.some((f) => String(f.actions).includes("put_dhcp_opts") && String(f.actions).includes("server_id = 10.0.0.2"))).toBe(true);
    // the default drop and the stateful allow
    await waitFor("default-drop flows", () => flows(ls1).some((f) => f.match === `reg0[9] == 1 && (inport == @${DROP_PG} && ip)` && String(f.actions).includes("drop")));
    expect(flows(ls1).some((f) => String(f.match).includes(`outport == @${DROP_PG} && ip)`) && f.pipeline === "egress")).toBe(true);
    // the floating IP's DNAT on the router
    await waitFor("FIP flows", () => flows(lr1).some((f) => String(f.match).includes("203.0.113.20") && String(f.actions).includes("ct_dnat")));
    // a port binding for every port
    const bound = [...sb.rows("Port_Binding").values()].map((p) => p.logical_port as string);
    expect(bound).toEqual(expect.arrayContaining([lspName("pa1"), lspName("pa2"), lspName("pa3"), lspName("pb1")]));
    // two tenants, two datapaths: the overlapping 10.0.0.5 lives in each separately
    expect(dpOf(lsName("vpc-t2"))).not.toBe(ls1);
  });

  it("changes nothing when applied again, also from a fresh connection", async () => {
    expect(await apply(nbState())).toEqual({ changes: 0, actions: [] });
    const dp2 = new OvnVpcDataplane({ nbRemote: central.nb.remote, gatewayChassis: ["gw-chassis-1", "gw-chassis-2"] });
    try {
      expect(await dp2.apply(nbState())).toEqual({ changes: 0, actions: [] });
    } finally {
      await dp2.close();
    }
  });

  it("converges changes exactly: a port gone, a rule changed, a floating IP removed", async () => {
    const lrBefore = named("Logical_Router", lrName("vpc-t1"))!._uuid;
    const res = await apply(nbState({ without: ["pa2"], webPort: 443, noFip: true }));
    expect(res.actions.sort()).toEqual([
      "delete ACL rule:default1/" + res.actions.find((a) => a.startsWith("delete ACL rule:default1/"))!.split("/")[1],
      "delete ACL rule:web/" + res.actions.find((a) => a.startsWith("delete ACL rule:web/"))!.split("/")[1],
      "delete Logical_Switch_Port port:pa2",
      "delete NAT fip:vpc-t1/203.0.113.20",
      "insert ACL rule:default1/" + res.actions.find((a) => a.startsWith("insert ACL rule:default1/"))!.split("/")[1],
      "insert ACL rule:web/" + res.actions.find((a) => a.startsWith("insert ACL rule:web/"))!.split("/")[1],
      "update Logical_Router router:vpc-t1: nat",
      "update Logical_Switch vpc:vpc-t1: ports",
      "update Port_Group secgroup-drop:default: ports",
      "update Port_Group secgroup:default1: acls, ports",
      "update Port_Group secgroup:web: acls",
    ].sort());
    expect(named("Logical_Switch_Port", lspName("pa2"))).toBeUndefined();
    expect(named("Logical_Router", lrName("vpc-t1"))!._uuid).toBe(lrBefore); // updated in place
    expect(refs("ACL", named("Port_Group", pgName("web"))!.acls).map((a) => a.match)).toContain(`outport == @${pgName("web")} && ip4 && tcp && tcp.dst == 443`);
    expect(refs("ACL", named("Port_Group", pgName("default1"))!.acls).map((a) => a.match)).toContain(`outport == @${pgName("default1")} && ip4 && ip4.src == {10.0.0.5}`);
    expect(rows("NAT").filter((n) => n.type === "dnat_and_snat")).toEqual([]);
    expect(rows("ACL").length).toBe(owned("ACL").length); // no orphan ACL left behind
    expect(await apply(nbState({ without: ["pa2"], webPort: 443, noFip: true }))).toEqual({ changes: 0, actions: [] });
    expect(foreignSnapshot()).toBe(foreignBefore);
  });

  it("repairs drift made behind its back and keeps an operator's port in its switch", async () => {
    const pa1 = named("Logical_Switch_Port", lspName("pa1"))!;
    const ls1 = named("Logical_Switch", lsName("vpc-t1"))!;
    await (await nbTxn())
      .update("Logical_Switch_Port", [["_uuid", "==", pa1._uuid]], { port_security: [], external_ids: { "novanet:kind": "port", "novanet:id": "pa1", note: "kept" } })
      .insert("Logical_Switch_Port", { name: "operator-in-vpc" }, "x")
      .mutate("Logical_Switch", [["_uuid", "==", ls1._uuid]], [["ports", "insert", ["x"]]])
      .delete("DHCP_Options", [["cidr", "==", "10.0.1.0/24"]]) // nothing (sn-t1b has no DHCP): a no-op
      .commit();
    const web = named("Port_Group", pgName("web"))!;
    const aclsBefore = (await dp.inspect()).ovn!.rows.ACL!;
    await (await nbTxn()).update("Port_Group", [["_uuid", "==", web._uuid]], { acls: [] }).commit();
    // The driver learns of other clients' commits through its monitor: wait until it has seen this
    // one (the web group's 2 ACLs garbage-collected; the earlier drift arrived before it).
    const deadline = Date.now() + 5000;
    while ((await dp.inspect()).ovn!.rows.ACL !== aclsBefore - 2 && Date.now() < deadline) await Bun.sleep(5);
    const res = await apply(nbState({ without: ["pa2"], webPort: 443, noFip: true }));
    expect(res.actions.filter((a) => !a.startsWith("insert ACL")).sort()).toEqual([
      "update Logical_Switch_Port port:pa1: port_security",
      "update Port_Group secgroup:web: acls",
    ]);
    expect(named("Logical_Switch_Port", lspName("pa1"))!.external_ids).toEqual({ "novanet:kind": "port", "novanet:id": "pa1", note: "kept" });
    expect(names(refs("Logical_Switch_Port", named("Logical_Switch", lsName("vpc-t1"))!.ports))).toContain("operator-in-vpc");
    expect(await apply(nbState({ without: ["pa2"], webPort: 443, noFip: true }))).toEqual({ changes: 0, actions: [] });
    // take the operator's port out again so the final deletion test starts clean
    await (await nbTxn()).mutate("Logical_Switch", [["_uuid", "==", ls1._uuid]], [["ports", "delete", [named("Logical_Switch_Port", "operator-in-vpc")!._uuid]]]).commit();
  });

  it("rejects bad input with a clear error and changes nothing", async () => {
    const all = () => JSON.stringify(OWNED_TABLES.map((t) => rows(t).map(content)));
    const before = all();
    const bad = nbState();
    bad.vpcs[0]!.ports[0]!.ips = ["10.9.9.9"];
    await expect(apply(bad)).rejects.toMatchObject({ code: "DATAPLANE:InvalidState", details: { field: "vpcs.0.ports.0.ips.0" } });
    const noGw = new OvnVpcDataplane({ nbRemote: central.nb.remote });
    await expect(noGw.apply(nbState())).rejects.toMatchObject({ code: "DATAPLANE:InvalidState", details: { field: "vpcs.0.router.external" } });
    await noGw.close();
    await sync();
    expect(all()).toBe(before);
    // A name taken by a row not ours: the whole transaction is refused, nothing committed.
    await (await nbTxn()).insert("Logical_Switch_Port", { name: lspName("pz9") }, "z").insert("Logical_Switch", { name: "squatter", ports: ["z"] }).commit();
    await sync();
    const before2 = all();
    const s = nbState();
    s.vpcs[1]!.ports.push({ id: "pz9", mac: "02:00:00:00:02:09", ips: ["10.0.0.9"], securityGroups: [], device: { kind: "tap" } });
    const err = await apply(s).catch((e) => e);
    expect(err.code).toBe("DATAPLANE:CommandFailed");
    expect(err.details.ovsdb.error).toBe("constraint violation");
    expect(all()).toBe(before2);
    await (await nbTxn()).delete("Logical_Switch", [["name", "==", "squatter"]]).commit();
  });

  it("validates before connecting and reports an unreachable database by its OVSDB code", async () => {
    const away = new OvnVpcDataplane({ nbRemote: `unix:${central.dir}/absent.sock`, gatewayChassis: ["gw-chassis-1"] });
    const bad = nbState();
    bad.vpcs[1]!.subnets[0]!.cidr = "10.0.0.0/33";
    await expect(away.apply(bad)).rejects.toMatchObject({ code: "DATAPLANE:InvalidState" });
    await expect(away.apply(nbState())).rejects.toMatchObject({ code: "OVSDB:ConnectionFailed" });
    await away.close();
    await expect(away.apply(nbState())).rejects.toMatchObject({ code: "DATAPLANE:CommandFailed" });
  });

  it("inspects what it owns", async () => {
    const ins = await dp.inspect();
    expect(ins.vpcs.map((v) => v.vni).sort()).toEqual([100, 200]);
    expect(ins.vpcs.find((v) => v.vni === 100)!.ports.map((p) => p.device).sort()).toEqual([lspName("pa1"), lspName("pa3")]);
    expect(ins.ovn!.rows.Logical_Switch).toBe(3);
    expect(ins.ovn!.rows.Port_Group).toBe(4);
  });

  it("reconnects after the northbound server restarts and converges again", async () => {
    await central.restartNb();
    await nbc.ready(5000);
    const s = nbState({ without: ["pa2", "pa3"], webPort: 443, noFip: true });
    expect((await apply(s)).actions.sort()).toEqual(["delete Logical_Switch_Port port:pa3", "update Logical_Switch vpc:vpc-t1: ports"]);
    expect(named("Logical_Switch_Port", lspName("pa3"))).toBeUndefined();
    expect(await apply(s)).toEqual({ changes: 0, actions: [] });
  });

  it("removes everything of its own, and only that, when the state is empty", async () => {
    const res = await apply({ underlayIp: "192.0.2.1", vpcs: [], securityGroups: [] });
    expect(res.changes).toBeGreaterThan(20);
    for (const t of OWNED_TABLES) expect(owned(t)).toEqual([]);
    expect(foreignSnapshot()).toBe(foreignBefore);
    expect(named("Logical_Switch", "operator-ls")).toBeDefined();
    // northd drops the datapaths
    await waitFor("datapaths gone", () => ![...sb.rows("Datapath_Binding").values()].some((d) => String((d.external_ids as Record<string, string>).name).startsWith("novanet-")));
    expect(await apply({ underlayIp: "192.0.2.1", vpcs: [], securityGroups: [] })).toEqual({ changes: 0, actions: [] });
  });
});
