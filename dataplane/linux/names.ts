/**
 * Names and addresses of everything the Linux driver creates. Every device starts with `pc`, a
 * kind letter and a dash (`pcb-`, `pcx-`, `pcp-`, `pct-`, `pcr-`, `pce-`, `pcd-`) and every network
 * namespace with the driver's namespace prefix: those are the objects the driver owns. Anything
 * else on the host is never touched. Names are deterministic (from the VNI or a hash of the port
 * id), so a restarted driver finds its objects again without any local bookkeeping.
 */
import { createHash } from "node:crypto";

/** Matches the names of devices this driver owns. */
export const OWNED_DEVICE = /^pc[bxptred]-[0-9a-f]{1,11}$/;

/** The bridge of a VPC. */
export const bridgeName = (vni: number): string => `pcb-${vni.toString(16)}`;
/** The VXLAN device of a VPC. */
export const vxlanName = (vni: number): string => `pcx-${vni.toString(16)}`;
/** Host end of a router's VPC leg. */
export const routerLegName = (vni: number): string => `pcr-${vni.toString(16)}`;
/** Host end of a router's external leg (a port of the external bridge). */
export const routerExtName = (vni: number): string => `pce-${vni.toString(16)}`;
/** Host end of the DHCP namespace's leg. */
export const dhcpLegName = (vni: number): string => `pcd-${vni.toString(16)}`;

/** Host device of a port: `pcp-`/`pct-` and 11 hex digits of the port id's SHA-256. */
export function portDeviceName(portId: string, kind: "veth" | "tap"): string {
  let h = portHashes.get(portId);
  if (h === undefined) {
    h = createHash("sha256").update(portId).digest("hex").slice(0, 11);
    if (portHashes.size >= 100_000) portHashes.clear(); // bounded; recomputing is cheap
    portHashes.set(portId, h);
  }
  return `${kind === "veth" ? "pcp" : "pct"}-${h}`;
}
const portHashes = new Map<string, string>();

/** VNI encoded in one of our per-VPC device names, or undefined. */
export function vniOfDevice(name: string): number | undefined {
  const m = /^pc[bxred]-([0-9a-f]{1,6})$/.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Names of the namespaces of one host driver (the prefix keeps several drivers apart in tests). */
export interface NamespaceNames {
  router(vni: number): string;
  dhcp(vni: number): string;
  /** True for a namespace this driver owns. */
  owns(name: string): boolean;
  /** The VNI of an owned namespace name. */
  vniOf(name: string): { kind: "router" | "dhcp"; vni: number } | undefined;
}

/** Namespace naming under `prefix` (`photon-` by default: `photon-r-64`, `photon-d-64`). */
export function namespaceNames(prefix: string): NamespaceNames {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([rd])-([0-9a-f]{1,6})$`);
  return {
    router: (vni) => `${prefix}r-${vni.toString(16)}`,
    dhcp: (vni) => `${prefix}d-${vni.toString(16)}`,
    owns: (name) => re.test(name),
    vniOf: (name) => {
      const m = re.exec(name);
      return m ? { kind: m[1] === "r" ? "router" : "dhcp", vni: parseInt(m[2]!, 16) } : undefined;
    },
  };
}

function vniMac(first: number, vni: number): string {
  const b = [first, 0x70, 0x63, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** Default gateway MAC of a VPC's router (locally administered, the same on every host). */
export const routerMac = (vni: number): string => vniMac(0x02, vni);
/** MAC of a VPC's DHCP server leg. */
export const dhcpMac = (vni: number): string => vniMac(0x06, vni);
/** MAC of a router's external leg (unique per VPC; each host has its own external address). */
export const routerExtMac = (vni: number): string => vniMac(0x0a, vni);

/** Interface names inside the namespaces this driver creates. */
export const INNER = { routerVpc: "vpc0", routerExt: "ext0", dhcp: "dhcp0" } as const;

/** Short stable hash used as a completion marker (`ifalias`) and nft state hash. */
export function specHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/** The ifalias that marks an owned device as completely configured for `spec`. */
export const doneAlias = (spec: unknown): string => `photon:${specHash(spec)}`;
