/**
 * The host half of the OVN data plane: on a chassis (ovs-vswitchd + ovn-controller), each port
 * of the host's desired state becomes a device plugged into the integration bridge with
 * `external_ids:iface-id` = its logical switch port ({@link lspName}); ovn-controller then binds it
 * and installs its flows. The OVN driver ({@link OvnVpcDataplane}) writes the logical side into the
 * northbound database; this one only plugs and unplugs, like Neutron's OVS agent-less VIF plugging.
 *
 * Devices are the Linux driver's (`pcp-<hash>` veth with its peer in the VM's namespace, or
 * `pct-<hash>` tap), marked complete by an ifalias hash of their spec; OVS rows are written over
 * one OVSDB connection to the local Open_vSwitch database (never `ovs-vsctl`), tagged with
 * `external_ids:novanet:port`. Untagged ports and other devices are never touched.
 */
import { existsSync } from "node:fs";
import { createLogger, type Logger } from "../../lib/log.ts";
import { PhotonError } from "../../lib/errors.ts";
import { OvsdbClient, type Mutation, type Replica, type Transaction } from "../../lib/ovsdb/index.ts";
import { DataplaneErrors } from "../errors.ts";
import { CommandRunner } from "../linux/exec.ts";
import { doneAlias, portDeviceName } from "../linux/names.ts";
import { validateState, type NPort, type NVpc } from "../linux/validate.ts";
import type { ApplyResult, HostNetworkInspection, HostNetworkState, VpcDataplane } from "../vpc-dataplane.ts";
import { lspName } from "./names.ts";

/** The local Open_vSwitch database. */
export const OVS_DB = "Open_vSwitch";
/** external_ids key tagging the OVS ports and interfaces this driver plugs. */
export const PORT_KEY = "novanet:port";
const OWNED_DEV = /^pc[pt]-[0-9a-f]{11}$/;

/** Options of {@link OvnChassisDataplane}. */
export interface OvnChassisDataplaneOptions {
  /** The local Open_vSwitch database: `unix:/var/run/openvswitch/db.sock`. */
  ovsRemote: string;
  /** Integration bridge (default `br-int`, as ovn-controller). */
  bridge?: string;
  /** Network namespace holding the host's devices (where ovs-vswitchd runs); unset = this one. */
  netns?: string;
  /**
   * Turn off TX checksum offload inside VMs' veths (default false). Needed with the userspace
   * datapath (`datapath_type=netdev`), which forwards frames with unfinished checksums otherwise.
   */
  disableTxOffload?: boolean;
  logger?: Logger;
}

interface Vif {
  port: NPort;
  vpc: NVpc;
  dev: string;
  alias: string;
  ids: Record<string, string>;
}

/** Plugs the host's ports into the integration bridge. */
export class OvnChassisDataplane implements VpcDataplane {
  readonly run: CommandRunner;
  private conn: Promise<{ client: OvsdbClient; replica: Replica }> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly bridge: string;
  private readonly log: Logger;

  constructor(private readonly opts: OvnChassisDataplaneOptions) {
    this.run = new CommandRunner(opts.netns);
    this.bridge = opts.bridge ?? "br-int";
    this.log = opts.logger ?? createLogger("novanet-ovn-chassis");
  }

  private connect(): Promise<{ client: OvsdbClient; replica: Replica }> {
    this.conn ??= (async () => {
      const client = await OvsdbClient.connect({ remote: this.opts.ovsRemote });
      try {
        return { client, replica: await client.monitor(OVS_DB, ["Open_vSwitch", "Bridge", "Port", "Interface"]) };
      } catch (e) {
        client.close();
        throw e;
      }
    })().catch((e) => {
      this.conn = undefined;
      throw e;
    });
    return this.conn;
  }

  /**
   * Plugs exactly the desired ports: creates missing or stale devices, then one OVSDB transaction
   * adds/repairs/removes the bridge ports, then removes devices no longer wanted.
   * @throws PhotonError `DATAPLANE:InvalidState` (nothing changed), `DATAPLANE:MissingNamespace`
   *   when a bridge or VM namespace is missing, `DATAPLANE:CommandFailed`, `OVSDB:*` when the
   *   database is unreachable.
   */
  apply(desired: HostNetworkState): Promise<ApplyResult> {
    const run = this.queue.then(() => this.applyNow(desired));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(desired: HostNetworkState): Promise<ApplyResult> {
    const state = validateState(desired);
    const vifs: Vif[] = state.vpcs.flatMap((vpc) =>
      vpc.ports.map((port) => {
        const dev = portDeviceName(port.id, port.device.kind);
        const ids = { "iface-id": lspName(port.id), "attached-mac": port.mac, [PORT_KEY]: port.id };
        return { port, vpc, dev, ids, alias: doneAlias({ d: port.device, mac: port.mac, ips: port.addrs, gw: port.gateway, mtu: vpc.mtu, off: this.opts.disableTxOffload === true }) };
      }),
    );
    // Every VM namespace must exist before anything changes (nothing half-applied).
    for (const v of vifs) {
      if (v.port.device.kind === "veth" && !existsSync(`/run/netns/${v.port.device.netns}`)) {
        throw DataplaneErrors.MissingNamespace(`network namespace ${v.port.device.netns} of port ${v.port.id} does not exist`);
      }
    }
    const { client, replica } = await this.connect();
    await client.ready();
    const br = [...replica.rows("Bridge").values()].find((b) => b.name === this.bridge);
    if (!br) throw DataplaneErrors.MissingNamespace(`bridge ${this.bridge} does not exist in ${this.opts.ovsRemote}`);
    const actions: string[] = [];

    const bridgePorts = (): Map<string, { port: string; iface: string; ids: Record<string, unknown> }> => {
      const out = new Map<string, { port: string; iface: string; ids: Record<string, unknown> }>();
      const onBridge = (replica.get("Bridge", br._uuid as string)?.ports ?? []) as string[];
      for (const p of onBridge.map((u) => replica.get("Port", u)).filter((p) => p !== undefined)) {
        const tag = (p.external_ids as Record<string, string>)[PORT_KEY];
        const iface = replica.get("Interface", (p.interfaces as string[])[0] ?? "");
        if (tag !== undefined && iface) out.set(p.name as string, { port: p._uuid as string, iface: iface._uuid as string, ids: iface.external_ids as Record<string, unknown> });
      }
      return out;
    };

    // 1. devices: (re)create what is missing or stale (the alias is set last: complete). A stale
    //    device still plugged is unplugged first and ovs-vswitchd waited for, or it would keep
    //    the old device open under the same port name.
    const links = await this.run.ipJson<{ ifname: string; ifalias?: string }>(undefined, ["link", "show"]);
    const have = new Map(links.filter((l) => OWNED_DEV.test(l.ifname)).map((l) => [l.ifname, l.ifalias ?? ""]));
    const stale = vifs.filter((v) => have.has(v.dev) && have.get(v.dev) !== v.alias);
    const plugged = bridgePorts();
    const unplug = stale.map((v) => plugged.get(v.dev)?.port).filter((u): u is string => u !== undefined);
    if (unplug.length > 0) {
      await this.commit(
        (await client.transaction(OVS_DB))
          .mutate("Bridge", [["_uuid", "==", br._uuid as string]], [["ports", "delete", unplug]])
          .mutate("Open_vSwitch", [], [["next_cfg", "+=", 1]]),
      );
      await this.vswitchdCaughtUp(replica);
      for (const v of stale) if (plugged.has(v.dev)) actions.push(`unplug ${v.dev} (stale)`);
    }
    for (const v of vifs) {
      if (have.get(v.dev) === v.alias) continue;
      await this.createDevice(v, have.has(v.dev));
      actions.push(`${have.has(v.dev) ? "recreate" : "create"} ${v.dev} (port ${v.port.id})`);
    }

    // 2. bridge ports over OVSDB: exactly the desired devices, with their iface-id
    const ports = bridgePorts();
    const txn = await client.transaction(OVS_DB);
    const add: string[] = [];
    const del: string[] = [];
    vifs.forEach((v, i) => {
      const cur = ports.get(v.dev);
      if (!cur) {
        txn.insert("Interface", { name: v.dev, external_ids: v.ids }, `i${i}`);
        txn.insert("Port", { name: v.dev, interfaces: [`i${i}`], external_ids: { [PORT_KEY]: v.port.id } }, `p${i}`);
        add.push(`p${i}`);
        actions.push(`plug ${v.dev} into ${this.bridge} as ${v.ids["iface-id"]}`);
      } else if (Object.entries(v.ids).some(([k, x]) => cur.ids[k] !== x)) {
        txn.update("Interface", [["_uuid", "==", cur.iface]], { external_ids: { ...cur.ids, ...v.ids } });
        actions.push(`update ${v.dev} external_ids`);
      }
    });
    const wanted = new Set(vifs.map((v) => v.dev));
    for (const [name, cur] of ports) {
      if (wanted.has(name)) continue;
      del.push(cur.port);
      actions.push(`unplug ${name}`);
    }
    const muts: Mutation[] = [];
    if (del.length > 0) muts.push(["ports", "delete", del]);
    if (add.length > 0) muts.push(["ports", "insert", add]);
    if (muts.length > 0) txn.mutate("Bridge", [["_uuid", "==", br._uuid as string]], muts);
    if (txn.ops.length > 0) await this.commit(txn);

    // 3. devices no longer wanted (after unplugging them)
    const gone = [...have.keys()].filter((d) => !wanted.has(d));
    await this.run.ipBatch(undefined, gone.map((d) => `link del ${d}`));
    for (const d of gone) actions.push(`delete ${d}`);
    if (actions.length > 0) this.log.info("chassis ports converged", { changes: actions.length });
    return { changes: actions.length, actions };
  }

  private async commit(txn: Transaction): Promise<void> {
    try {
      await txn.commit();
    } catch (e) {
      if (e instanceof PhotonError && e.code === "OVSDB:TransactionFailed") {
        throw DataplaneErrors.CommandFailed(`Open_vSwitch transaction refused: ${e.message}`, { cause: e, details: { ovsdb: e.details } });
      }
      throw e;
    }
  }

  /** Waits (up to 5 s) until ovs-vswitchd has applied the configuration (`cur_cfg` = `next_cfg`). */
  private async vswitchdCaughtUp(replica: Replica): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const row = [...replica.rows("Open_vSwitch").values()][0];
      if (!row || Number(row.cur_cfg) >= Number(row.next_cfg)) return;
      if (Date.now() > deadline) throw DataplaneErrors.CommandFailed("ovs-vswitchd did not apply the configuration in 5 s (is it running?)");
      await Bun.sleep(5);
    }
  }

  private async createDevice(v: Vif, exists: boolean): Promise<void> {
    const { port, vpc, dev } = v;
    const host: string[] = exists ? [`link del ${dev}`] : [];
    if (port.device.kind === "tap") {
      host.push(`tuntap add ${dev} mode tap`, `link set ${dev} address ${port.mac} mtu ${vpc.mtu} up`);
      await this.run.ipBatch(undefined, host);
    } else {
      const d = port.device;
      const ifname = d.ifname ?? "eth0";
      // the peer is created directly in the VM's namespace (host namespace first when it is the
      // driver's namespace, so `netns` resolves from /run/netns either way)
      host.push(`link add ${dev} mtu ${vpc.mtu} type veth peer name ${ifname} address ${port.mac} mtu ${vpc.mtu} netns ${d.netns}`, `link set ${dev} up`);
      await this.run.ipBatch(undefined, host);
      const inside = [`link set ${ifname} up`, "link set lo up"];
      if (d.configure !== false) {
        for (const a of port.addrs) inside.push(`addr replace ${a} dev ${ifname}`);
        if (port.gateway) inside.push(`route replace default via ${port.gateway} dev ${ifname}`);
      }
      await this.run.run(["ip", "-n", d.netns, "-batch", "-"], inside.join("\n") + "\n");
      if (this.opts.disableTxOffload) await this.run.run(["ip", "netns", "exec", d.netns, "ethtool", "-K", ifname, "tx", "off"]);
    }
    await this.run.ipBatch(undefined, [`link set ${dev} alias ${v.alias}`]);
  }

  /** Reports the plugged ports (as `ports` of one pseudo-VPC 0; the logical side is the NB driver's). */
  async inspect(): Promise<HostNetworkInspection> {
    const { replica } = await this.connect();
    const links = await this.run.ipJson<{ ifname: string; ifalias?: string; operstate?: string }>(undefined, ["link", "show"]);
    const ports = [...replica.rows("Port").values()]
      .filter((p) => (p.external_ids as Record<string, string>)[PORT_KEY] !== undefined)
      .map((p) => {
        const l = links.find((x) => x.ifname === p.name);
        const name = p.name as string;
        const up = l?.operstate === "UP" || l?.operstate === "UNKNOWN";
        return { device: name, kind: name.startsWith("pct-") ? "tap" : "veth", up, complete: (l?.ifalias ?? "").startsWith("photon:") };
      });
    return { vpcs: [{ vni: 0, ports, fdb: [], neighbours: [] }], nftables: { tables: [], chains: 0, rules: 0 } };
  }

  /** Closes the OVSDB connection. */
  async close(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    if (c) (await c.catch(() => undefined))?.client.close();
  }
}
