/** Small IPv4 helpers (parsing, CIDR membership) for validation and rendering. */
import { isIPv4 } from "node:net";

/** The address as a 32-bit unsigned number; undefined when not dotted-quad IPv4. */
export function ipv4ToInt(ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined;
  return ip.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** A parsed IPv4 CIDR. */
export interface Cidr4 {
  network: number;
  prefix: number;
}

/** Parses `a.b.c.d/n`; undefined when malformed. Host bits may be set (`10.0.0.1/24`). */
export function parseCidr4(cidr: string): Cidr4 | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const ip = ipv4ToInt(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ip & mask) >>> 0, prefix };
}

/** True when `ip` lies in `cidr`. */
export function cidrContains(cidr: Cidr4, ip: string): boolean {
  const n = ipv4ToInt(ip);
  if (n === undefined) return false;
  const mask = cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0;
  return ((n & mask) >>> 0) === cidr.network;
}

/** The canonical text of a CIDR's network (`10.0.0.0/24`). */
export function cidrText(c: Cidr4): string {
  const n = c.network;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${c.prefix}`;
}

/** True when two CIDRs share any address. */
export function cidrOverlap(a: Cidr4, b: Cidr4): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}
