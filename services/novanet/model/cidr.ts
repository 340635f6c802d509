/**
 * Addresses and networks for IPv4 and IPv6 as bigints: parsing (strict: no host bits in a
 * network), containment, overlap, and the arithmetic IPAM needs. Pure, no I/O.
 */
import { isIP } from "node:net";

/** A parsed network. */
export interface Net {
  version: 4 | 6;
  /** First address. */
  network: bigint;
  prefix: number;
  /** Number of address bits (32 or 128). */
  bits: number;
}

/** The address as a bigint; undefined when it is not an IPv4/IPv6 address. */
export function ipToBig(ip: string): { version: 4 | 6; value: bigint } | undefined {
  const v = isIP(ip);
  if (v === 4) return { version: 4, value: ip.split(".").reduce((a, p) => (a << 8n) | BigInt(Number(p)), 0n) };
  if (v !== 6 || ip.includes("%")) return undefined;
  const [head, tail] = ip.includes("::") ? (ip.split("::") as [string, string]) : [ip, undefined];
  const parse = (s: string | undefined): number[] => {
    if (!s) return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (g.includes(".")) {
        const v4 = ipToBig(g)!.value;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined && !ip.includes("::") ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return { version: 6, value: groups.reduce((a, g) => (a << 16n) | BigInt(g), 0n) };
}

/** The text of an address (canonical: IPv6 compressed, lower case). */
export function bigToIp(value: bigint, version: 4 | 6): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // Longest run of zero groups (at least two) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** The canonical text of an address, or undefined when it is not one. */
export function canonicalIp(ip: string): string | undefined {
  const b = ipToBig(ip);
  return b ? bigToIp(b.value, b.version) : undefined;
}

/**
 * Parses `addr/prefix` as a network. `strict` (the default) refuses host bits (`10.0.0.1/24`).
 * Undefined when malformed.
 */
export function parseNet(cidr: string, strict = true): Net | undefined {
  if (typeof cidr !== "string") return undefined;
  const m = /^([0-9A-Fa-f.:]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) return undefined;
  const a = ipToBig(m[1]!);
  if (!a) return undefined;
  const bits = a.version === 4 ? 32 : 128;
  const prefix = Number(m[2]);
  if (prefix > bits) return undefined;
  const network = a.value & mask(prefix, bits);
  if (strict && network !== a.value) return undefined;
  return { version: a.version, network, prefix, bits };
}

function mask(prefix: number, bits: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

/** Number of addresses in `n`. */
export function netSize(n: Net): bigint {
  return 1n << BigInt(n.bits - n.prefix);
}

/** Last address of `n`. */
export function netLast(n: Net): bigint {
  return n.network + netSize(n) - 1n;
}

/** Canonical `addr/prefix`. */
export function netText(n: Net): string {
  return `${bigToIp(n.network, n.version)}/${n.prefix}`;
}

/** True when `ip` (text) lies in `n`. */
export function netContains(n: Net, ip: string): boolean {
  const a = ipToBig(ip);
  return !!a && a.version === n.version && a.value >= n.network && a.value <= netLast(n);
}

/** True when `inner` lies entirely in `outer`. */
export function netWithin(inner: Net, outer: Net): boolean {
  return inner.version === outer.version && inner.prefix >= outer.prefix && inner.network >= outer.network && netLast(inner) <= netLast(outer);
}

/** True when two networks share an address. */
export function netOverlap(a: Net, b: Net): boolean {
  return a.version === b.version && a.network <= netLast(b) && b.network <= netLast(a);
}
