/**
 * Reads what exists on the host — links, VXLAN forwarding entries, neighbours, namespaces, the
 * nft tables — in a handful of `-json` queries run in parallel, and keeps only what the driver
 * owns (plus the names of other links, so references to external bridges can be checked).
 */
import type { CommandRunner } from "./exec.ts";
import { NFT_TABLE } from "./nft-secgroups.ts";
import { OWNED_DEVICE } from "./names.ts";

/** One link as `ip -json -d link show` reports it. */
export interface ObservedLink {
  name: string;
  kind?: string;
  master?: string;
  mtu: number;
  mac: string;
  up: boolean;
  alias?: string;
  vxlan?: { id: number; local?: string; learning: boolean; proxy: boolean; port?: number };
  /** Learning on the bridge port (for devices enslaved to a bridge). */
  portLearning?: boolean;
  nfCallIptables?: boolean;
  addrGenMode?: string;
}

/** What the driver owns on the host, as found. */
export interface Observed {
  /** Owned links by name. */
  links: Map<string, ObservedLink>;
  /** Every link name in the host namespace (owned or not). */
  allLinks: Set<string>;
  /** Per owned VXLAN device: static forwarding entries MAC → underlay IP (`self`). */
  fdbSelf: Map<string, Map<string, string>>;
  /** Per owned VXLAN device: static bridge (`master`) entries. */
  fdbMaster: Map<string, Set<string>>;
  /** Per owned VXLAN device: permanent neighbours IP → MAC. */
  neigh: Map<string, Map<string, string>>;
  /** Every network namespace name. */
  netns: Set<string>;
  /** The security-group tables, if present. */
  nft: NftObserved;
}

/** The security-group tables as found: families present, the state hash, chain and rule counts. */
export interface NftObserved {
  families: string[];
  hash?: string;
  chains: number;
  rules: number;
  /** Elements of the tables' named sets and maps. */
  elements: number;
}

interface IpLink {
  ifname: string;
  flags?: string[];
  mtu: number;
  address?: string;
  master?: string;
  ifalias?: string;
  inet6_addr_gen_mode?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

function toLink(l: IpLink): ObservedLink {
  const li = l.linkinfo;
  const d = li?.info_data;
  const out: ObservedLink = {
    name: l.ifname,
    mtu: l.mtu,
    mac: l.address ?? "",
    up: (l.flags ?? []).includes("UP"),
  };
  if (li?.info_kind) out.kind = li.info_kind;
  if (l.master) out.master = l.master;
  if (l.ifalias) out.alias = l.ifalias;
  if (l.inet6_addr_gen_mode) out.addrGenMode = l.inet6_addr_gen_mode;
  if (li?.info_kind === "vxlan" && d) {
    out.vxlan = {
      id: Number(d.id),
      learning: d.learning === true,
      proxy: d.proxy === true,
      ...(typeof d.local === "string" ? { local: d.local } : {}),
      ...(typeof d.port === "number" ? { port: d.port } : {}),
    };
  }
  if (li?.info_kind === "bridge" && d) out.nfCallIptables = d.nf_call_iptables === 1;
  if (li?.info_slave_kind === "bridge" && li.info_slave_data) out.portLearning = li.info_slave_data.learning === true;
  return out;
}

interface FdbEntry {
  mac: string;
  ifname: string;
  dst?: string;
  master?: string;
  flags?: string[];
  state?: string;
}

interface NeighEntry {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

/** Reads the host's owned objects (about five processes, run concurrently). */
export async function observeHost(run: CommandRunner): Promise<Observed> {
  const [links, netnsOut, nft] = await Promise.all([
    run.ipJson<IpLink>(undefined, ["-d", "link", "show"]),
    run.run(["ip", "-json", "netns", "list"]),
    run.nftRuleset(undefined),
  ]);
  const obs: Observed = {
    links: new Map(),
    allLinks: new Set(),
    fdbSelf: new Map(),
    fdbMaster: new Map(),
    neigh: new Map(),
    netns: new Set(),
    nft: { families: [], chains: 0, rules: 0, elements: 0 },
  };
  for (const l of links) {
    obs.allLinks.add(l.ifname);
    if (OWNED_DEVICE.test(l.ifname)) obs.links.set(l.ifname, toLink(l));
  }
  const t = netnsOut.trim();
  for (const n of t ? (JSON.parse(t) as { name: string }[]) : []) obs.netns.add(n.name);

  for (const item of nft) {
    const table = item.table as { family: string; name: string } | undefined;
    if (table && table.name === NFT_TABLE) obs.nft.families.push(table.family);
    const chain = item.chain as { table: string } | undefined;
    if (chain && chain.table === NFT_TABLE) obs.nft.chains++;
    const set = (item.set ?? item.map) as { table: string; elem?: unknown[] } | undefined;
    if (set && set.table === NFT_TABLE) obs.nft.elements += set.elem?.length ?? 0;
    const rule = item.rule as { table: string; chain: string; comment?: string } | undefined;
    if (rule && rule.table === NFT_TABLE) {
      obs.nft.rules++;
      if (rule.chain === "state" && rule.comment?.startsWith("photon:")) obs.nft.hash = rule.comment.slice(7);
    }
  }

  const vx = [...obs.links.values()].filter((l) => l.kind === "vxlan");
  if (vx.length > 0) {
    const [fdb, neigh] = await Promise.all([
      run.bridgeJson<FdbEntry>(["fdb", "show"]),
      run.ipJson<NeighEntry>(undefined, ["neigh", "show", "nud", "permanent"]),
    ]);
    for (const l of vx) {
      obs.fdbSelf.set(l.name, new Map());
      obs.fdbMaster.set(l.name, new Set());
      obs.neigh.set(l.name, new Map());
    }
    for (const e of fdb) {
      if (e.dst !== undefined) obs.fdbSelf.get(e.ifname)?.set(e.mac, e.dst);
      else if (e.master !== undefined && e.state === "static") obs.fdbMaster.get(e.ifname)?.add(e.mac);
    }
    for (const n of neigh) {
      if (n.lladdr) obs.neigh.get(n.dev)?.set(n.dst, n.lladdr);
    }
  }
  return obs;
}
