/**
 * What the host holds after a successful apply of a state, in the shape `observeHost` reports —
 * without asking the kernel. The driver plans an incremental apply against this belief instead
 * of re-observing the whole host (the observation is most of a small change's cost); a full
 * observation still runs on the first apply, on every apply of an unchanged state (a resync), at
 * least every `fullEveryMs`, and whenever an incremental apply meets a surprise (a command
 * fails or the plan finds a problem), so drift is always repaired by a real observation.
 */
import { existsSync } from "node:fs";
import type { DhcpPlan } from "./dhcp.ts";
import { bridgeName, dhcpLegName, doneAlias, portDeviceName, routerExtName, routerLegName, vxlanName } from "./names.ts";
import type { NftObserved, Observed, ObservedLink } from "./observe.ts";
import { portSpec, type VpcExtras } from "./plan-host.ts";
import type { RouterPlan } from "./router.ts";
import type { NState } from "./validate.ts";

/**
 * The host as the driver left it after applying `state` (with the per-VPC router/DHCP plans it
 * used). `allLinks` carries the names of non-owned links from the last real observation; VM
 * namespaces are checked on the file system (cheap) because they come and go without us.
 */
export function believedHost(
  state: NState,
  extras: ReadonlyMap<number, VpcExtras>,
  allLinks: ReadonlySet<string>,
  nft: NftObserved,
): Observed {
  const obs: Observed = {
    links: new Map(),
    allLinks: new Set(allLinks),
    fdbSelf: new Map(),
    fdbMaster: new Map(),
    neigh: new Map(),
    netns: new Set(),
    nft,
  };
  const link = (l: ObservedLink) => {
    obs.links.set(l.name, l);
    obs.allLinks.add(l.name);
  };
  for (const v of state.vpcs) {
    const br = bridgeName(v.vni);
    const vx = vxlanName(v.vni);
    const M = v.mtu;
    link({ name: br, kind: "bridge", mtu: M, mac: "", up: true, nfCallIptables: true, addrGenMode: "none" });
    link({
      name: vx, kind: "vxlan", master: br, mtu: M, mac: "", up: true, portLearning: false, addrGenMode: "none",
      vxlan: { id: v.vni, local: state.underlayIp, learning: false, proxy: true },
    });
    const self = new Map<string, string>();
    const master = new Set<string>();
    const neigh = new Map<string, string>();
    for (const r of v.remoteEndpoints) {
      self.set(r.mac, r.hostIp);
      master.add(r.mac);
      for (const ip of r.ips) neigh.set(ip, r.mac);
    }
    obs.fdbSelf.set(vx, self);
    obs.fdbMaster.set(vx, master);
    obs.neigh.set(vx, neigh);
    for (const p of v.ports) {
      const dev = portDeviceName(p.id, p.device.kind);
      link({ name: dev, kind: p.device.kind === "veth" ? "veth" : "tun", master: br, mtu: M, mac: "", up: true, alias: doneAlias(portSpec(p, v)) });
      if (p.device.kind === "veth" && existsSync(`/run/netns/${p.device.netns}`)) obs.netns.add(p.device.netns);
    }
    const x = extras.get(v.vni);
    const rp: RouterPlan | undefined = x?.router;
    if (rp) {
      obs.netns.add(rp.ns);
      link({ name: routerLegName(v.vni), kind: "veth", master: br, mtu: M, mac: "", up: true, alias: rp.alias });
      const extBr = v.router?.external?.bridge;
      if (extBr) link({ name: routerExtName(v.vni), kind: "veth", master: extBr, mtu: 1500, mac: "", up: true });
    }
    const dp: DhcpPlan | undefined = x?.dhcp;
    if (dp) {
      obs.netns.add(dp.ns);
      link({ name: dhcpLegName(v.vni), kind: "veth", master: br, mtu: M, mac: "", up: true, alias: dp.alias });
    }
  }
  return obs;
}
