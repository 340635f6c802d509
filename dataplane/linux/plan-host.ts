/**
 * The diff between the desired state and what exists, as batches of iproute2 commands. Pure: it
 * reads the observed state and returns lines; the driver runs them in order:
 *
 * 1. `deletes` (ip batch): owned devices that are unwanted or broken;
 * 2. `nsAdd`: missing router/DHCP namespaces;
 * 3. `creates` (ip batch): bridges, VXLAN devices, neighbour entries, ports, namespace legs —
 *    each line tagged with its owner so a failing line marks only that owner as failed;
 * 4. `vm` batches (one per VM namespace): addresses, link up, default route;
 * 5. `fdb` (bridge batch): static VXLAN and bridge forwarding entries;
 * 6. `markers` (ip batch): the ifalias that marks a device completely configured, written last.
 *
 * A device whose marker is missing or stale is deleted and recreated (ports) or reconfigured
 * (namespace legs), which is what makes an interrupted apply converge on the next one.
 */
import type { DhcpPlan } from "./dhcp.ts";
import {
  INNER, bridgeName, dhcpLegName, dhcpMac, doneAlias, portDeviceName, routerExtMac, routerExtName, routerLegName,
  vxlanName, type NamespaceNames,
} from "./names.ts";
import { VXLAN_PORT } from "./nft-secgroups.ts";
import type { Observed } from "./observe.ts";
import type { RouterPlan } from "./router.ts";
import type { NPort, NState, NVpc } from "./validate.ts";

/** A batch line and who it belongs to (a port id, or `vpc:<vni>`, `router:<vni>`, `dhcp:<vni>`). */
export interface Line {
  line: string;
  owner: string;
}

/** What to do on the host. */
export interface HostPlan {
  deletes: Line[];
  nsAdd: string[];
  nsDel: string[];
  creates: Line[];
  /** Per VM namespace: lines run inside it, tagged by port id. */
  vm: Map<string, Line[]>;
  fdb: Line[];
  markers: Line[];
  /** Routers whose namespace must be (re)configured. */
  routers: RouterPlan[];
  /** DHCP namespaces whose addresses must be (re)configured. */
  dhcpNs: DhcpPlan[];
  /** Problems found while planning (the owners are skipped; the others proceed). */
  errors: { owner: string; message: string }[];
}

/** Inputs computed per VPC by the driver. */
export interface VpcExtras {
  router?: RouterPlan;
  dhcp?: DhcpPlan;
}

/** What a port's completion marker covers (a change recreates the port). */
export function portSpec(p: NPort, v: NVpc) {
  const d = p.device;
  return d.kind === "veth"
    ? { kind: d.kind, netns: d.netns, ifname: d.ifname ?? "eth0", configure: d.configure !== false, mac: p.mac,
        mtu: v.mtu, addrs: p.addrs, gateway: p.gateway ?? null, ...(p.gateway6 ? { gateway6: p.gateway6 } : {}), bridge: bridgeName(v.vni) }
    : { kind: d.kind, mtu: v.mtu, bridge: bridgeName(v.vni) };
}

/** Plans the host changes. `extras` is keyed by VNI. */
export function planHost(state: NState, obs: Observed, ns: NamespaceNames, extras: Map<number, VpcExtras>): HostPlan {
  const plan: HostPlan = {
    deletes: [], nsAdd: [], nsDel: [], creates: [], vm: new Map(), fdb: [], markers: [], routers: [], dhcpNs: [], errors: [],
  };
  const wanted = new Set<string>();
  const wantedNs = new Set<string>();
  const del = (name: string, owner: string) => {
    if (obs.links.has(name)) plan.deletes.push({ line: `link del dev ${name}`, owner });
  };

  for (const v of state.vpcs) {
    const vo = `vpc:${v.vni}`;
    const br = bridgeName(v.vni);
    const vx = vxlanName(v.vni);
    const M = v.mtu;
    wanted.add(br).add(vx);
    const c = (line: string, owner = vo) => plan.creates.push({ line, owner });

    // Bridge: fixed in place when only its settings drifted.
    const b = obs.links.get(br);
    let freshBridge = false;
    if (!b || b.kind !== "bridge") {
      if (b) del(br, vo);
      c(`link add ${br} mtu ${M} type bridge stp_state 0 mcast_snooping 0 nf_call_iptables 1 nf_call_ip6tables 1`);
      c(`link set ${br} addrgenmode none`);
      c(`link set ${br} up`);
      freshBridge = true;
    } else {
      if (!b.nfCallIptables) c(`link set ${br} type bridge nf_call_iptables 1 nf_call_ip6tables 1`);
      if (b.addrGenMode !== "none") c(`link set ${br} addrgenmode none`);
      if (b.mtu !== M) c(`link set ${br} mtu ${M}`);
      if (!b.up) c(`link set ${br} up`);
    }

    // VXLAN: recreated when anything about it is off (its fdb goes with it).
    const x = obs.links.get(vx);
    const vxOk =
      !freshBridge && x?.kind === "vxlan" && x.vxlan?.id === v.vni && x.vxlan.local === state.underlayIp &&
      !x.vxlan.learning && x.vxlan.proxy && x.master === br && x.portLearning === false && x.up && x.mtu === M;
    if (!vxOk) {
      if (x) del(vx, vo);
      c(`link add ${vx} mtu ${M} type vxlan id ${v.vni} local ${state.underlayIp} dstport ${VXLAN_PORT} nolearning proxy`);
      c(`link set ${vx} addrgenmode none`);
      c(`link set ${vx} master ${br}`);
      c(`link set ${vx} type bridge_slave learning off`);
      c(`link set ${vx} up`);
    }
    const selfHave = vxOk ? obs.fdbSelf.get(vx) ?? new Map<string, string>() : new Map<string, string>();
    const masterHave = vxOk ? obs.fdbMaster.get(vx) ?? new Set<string>() : new Set<string>();
    const neighHave = vxOk ? obs.neigh.get(vx) ?? new Map<string, string>() : new Map<string, string>();
    const selfWant = new Map<string, string>();
    const neighWant = new Map<string, string>();
    for (const r of v.remoteEndpoints) {
      selfWant.set(r.mac, r.hostIp);
      for (const ip of r.ips) neighWant.set(ip, r.mac);
    }
    for (const [mac, dst] of selfHave) if (!selfWant.has(mac)) plan.fdb.push({ line: `fdb del ${mac} dev ${vx} dst ${dst} self`, owner: vo });
    for (const mac of masterHave) if (!selfWant.has(mac)) plan.fdb.push({ line: `fdb del ${mac} dev ${vx} master`, owner: vo });
    for (const [mac, dst] of selfWant) {
      if (selfHave.get(mac) !== dst) plan.fdb.push({ line: `fdb replace ${mac} dev ${vx} dst ${dst} self permanent`, owner: vo });
      if (!masterHave.has(mac)) plan.fdb.push({ line: `fdb replace ${mac} dev ${vx} master static`, owner: vo });
    }
    for (const ip of neighHave.keys()) if (!neighWant.has(ip)) c(`neigh del ${ip} dev ${vx}`);
    for (const [ip, mac] of neighWant) if (neighHave.get(ip) !== mac) c(`neigh replace ${ip} lladdr ${mac} dev ${vx} nud permanent`);

    // Ports.
    for (const p of v.ports) {
      const dev = portDeviceName(p.id, p.device.kind);
      wanted.add(dev);
      const alias = doneAlias(portSpec(p, v));
      const l = obs.links.get(dev);
      const d = p.device;
      if (d.kind === "veth" && !obs.netns.has(d.netns)) {
        plan.errors.push({ owner: p.id, message: `port ${p.id}: network namespace ${d.netns} does not exist` });
        continue;
      }
      if (!freshBridge && l && l.alias === alias && l.master === br && l.up) continue;
      if (l) del(dev, p.id);
      if (d.kind === "veth") {
        const ifn = d.ifname ?? "eth0";
        c(`link add ${dev} mtu ${M} master ${br} up type veth peer name ${ifn} address ${p.mac} mtu ${M} netns ${d.netns}`, p.id);
        const lines = d.configure === false ? [`link set ${ifn} up`] : [
          // IPv6: no duplicate-address detection (novanet's IPAM owns the addresses), usable at once.
          ...p.addrs.map((a) => (a.includes(":") ? `addr add ${a} dev ${ifn} nodad` : `addr add ${a} dev ${ifn}`)),
          `link set ${ifn} up`,
          ...(p.gateway ? [`route replace default via ${p.gateway} dev ${ifn}`] : []),
          ...(p.gateway6 ? [`route replace ::/0 via ${p.gateway6} dev ${ifn}`] : []),
        ];
        const vmLines = plan.vm.get(d.netns) ?? [];
        vmLines.push(...lines.map((line) => ({ line, owner: p.id })));
        plan.vm.set(d.netns, vmLines);
      } else {
        c(`tuntap add dev ${dev} mode tap`, p.id);
        c(`link set ${dev} mtu ${M} master ${br} up`, p.id);
      }
      plan.markers.push({ line: `link set ${dev} alias ${alias}`, owner: p.id });
    }

    // Router namespace and its legs.
    const rp = extras.get(v.vni)?.router;
    if (rp) {
      const ro = `router:${v.vni}`;
      const leg = routerLegName(v.vni);
      const ext = routerExtName(v.vni);
      wanted.add(leg);
      wantedNs.add(rp.ns);
      const extBr = v.router!.external?.bridge;
      if (extBr) wanted.add(ext);
      if (extBr && !obs.allLinks.has(extBr)) {
        plan.errors.push({ owner: ro, message: `router of VPC ${v.id}: external bridge ${extBr} does not exist` });
      } else {
        const nsNew = !obs.netns.has(rp.ns);
        if (nsNew) plan.nsAdd.push(rp.ns);
        const l = obs.links.get(leg);
        let dirty = nsNew || freshBridge || !l || l.alias !== rp.alias;
        if (nsNew || freshBridge || !l || l.kind !== "veth") {
          if (l) del(leg, ro);
          c(`link add ${leg} mtu ${v.mtu} master ${br} up type veth peer name ${INNER.routerVpc} address ${v.router!.gatewayMac} mtu ${v.mtu} netns ${rp.ns}`, ro);
        } else if (l.master !== br || !l.up) {
          c(`link set ${leg} master ${br} up`, ro);
        }
        const e = obs.links.get(ext);
        if (extBr) {
          if (nsNew || !e || e.kind !== "veth") {
            if (e) del(ext, ro);
            c(`link add ${ext} master ${extBr} up type veth peer name ${INNER.routerExt} address ${routerExtMac(v.vni)} netns ${rp.ns}`, ro);
            dirty = true;
          } else if (e.master !== extBr || !e.up) {
            c(`link set ${ext} master ${extBr} up`, ro);
          }
        }
        if (dirty) {
          plan.routers.push(rp);
          plan.markers.push({ line: `link set ${leg} alias ${rp.alias}`, owner: ro });
        }
      }
    }

    // DHCP namespace and its leg.
    const dp = extras.get(v.vni)?.dhcp;
    if (dp) {
      const dow = `dhcp:${v.vni}`;
      const leg = dhcpLegName(v.vni);
      wanted.add(leg);
      wantedNs.add(dp.ns);
      const nsNew = !obs.netns.has(dp.ns);
      if (nsNew) plan.nsAdd.push(dp.ns);
      const l = obs.links.get(leg);
      if (nsNew || freshBridge || !l || l.kind !== "veth") {
        if (l) del(leg, dow);
        c(`link add ${leg} mtu ${v.mtu} master ${br} up type veth peer name ${INNER.dhcp} address ${dhcpMac(v.vni)} mtu ${v.mtu} netns ${dp.ns}`, dow);
      } else if (l.master !== br || !l.up) {
        c(`link set ${leg} master ${br} up`, dow);
      }
      if (nsNew || freshBridge || !l || l.alias !== dp.alias) {
        plan.dhcpNs.push(dp);
        plan.markers.push({ line: `link set ${leg} alias ${dp.alias}`, owner: dow });
      }
    }
  }

  for (const name of obs.links.keys()) if (!wanted.has(name)) del(name, "stale");
  for (const n of obs.netns) if (ns.owns(n) && !wantedNs.has(n)) plan.nsDel.push(n);
  return plan;
}
