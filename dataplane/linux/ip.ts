/** IPv4 and IPv6 helpers (parsing, CIDR membership, canonical text) for validation and rendering. */
import { isIP } from "node:net";

/** A parsed CIDR of either family. */
export interface Cidr {
  version: 4 | 6;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
}

const bits = (v: 4 | 6) => (v === 4 ? 32 : 128);
const maskOf = (v: 4 | 6, prefix: number) => ((1n << BigInt(bits(v))) - 1n) ^ ((1n << BigInt(bits(v) - prefix)) - 1n);

/** The address as a number and its family; undefined when it is not an IP address. */
export function ipToBig(ip: string): { version: 4 | 6; value: bigint } | undefined {
  const v = isIP(ip);
  if (v === 4) return { version: 4, value: ip.split(".").reduce((acc, p) => acc * 256n + BigInt(p), 0n) };
  if (v !== 6 || ip.includes("%")) return undefined;
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = ipToBig(dotted[1]!)!.value;
    text = text.slice(0, -dotted[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return { version: 6, value: groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n) };
}

/** The canonical text of an address (IPv6 compressed, lower case). */
export function bigToIp(n: bigint, version: 4 | 6): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 255n)).join(".");
  const g = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let len = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len && j - i > 1) [best, len] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + len).join(":")}`;
}

/** Parses `addr/n` of either family; undefined when malformed. Host bits may be set. */
export function parseCidr(cidr: string): Cidr | undefined {
  const m = /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) return undefined;
  const ip = ipToBig(m[1]!);
  const prefix = Number(m[2]);
  if (!ip || prefix > bits(ip.version)) return undefined;
  return { version: ip.version, network: ip.value & maskOf(ip.version, prefix), prefix };
}

/** True when `ip` lies in `cidr` (and is of its family). */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const n = ipToBig(ip);
  return n !== undefined && n.version === cidr.version && (n.value & maskOf(cidr.version, cidr.prefix)) === cidr.network;
}

/** The canonical text of a CIDR's network (`10.0.0.0/24`, `fd00:1::/64`). */
export function cidrText(c: Cidr): string {
  return `${bigToIp(c.network, c.version)}/${c.prefix}`;
}

/** True when two CIDRs of the same family share any address. */
export function cidrOverlap(a: Cidr, b: Cidr): boolean {
  if (a.version !== b.version) return false;
  const m = maskOf(a.version, Math.min(a.prefix, b.prefix));
  return (a.network & m) === (b.network & m);
}

/** The IPv6 link-local address a MAC gives by EUI-64 (`fe80::…`). */
export function linkLocalOf(mac: string): string {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  b[0]! ^= 2;
  const iid = [b[0]!, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!].reduce((acc, x) => (acc << 8n) + BigInt(x), 0n);
  return bigToIp((0xfe80n << 112n) | iid, 6);
}
