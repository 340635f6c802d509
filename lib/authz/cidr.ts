/**
 * IP addresses and CIDR blocks for source-address conditions. Every address is held as a 128-bit
 * bigint; IPv4 maps into `::ffff:0:0/96`, so an IPv4 CIDR also matches the IPv4-mapped IPv6 form a
 * dual-stack listener reports (`::ffff:10.0.0.1`). Parsing is strict: no leading zeros in IPv4
 * octets, no zone ids, no whitespace.
 */
import { AuthzErrors } from "./errors.ts";

const V4_MAPPED = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let tail4: bigint | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail4 = parseV4(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    body = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const rest = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const groups = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (halves.length === 2 ? groups < 1 : head.length !== 8) return undefined;
  const all = [...head, ...Array<string>(groups).fill("0"), ...rest];
  let value = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return tail4 === undefined ? value : (value & ~0xffffffffn) | tail4;
}

/** Parses an IPv4 or IPv6 address into its 128-bit form, or undefined when malformed. */
export function parseIp(text: string): bigint | undefined {
  if (typeof text !== "string") return undefined;
  if (!text.includes(":")) {
    const v4 = parseV4(text);
    return v4 === undefined ? undefined : V4_MAPPED | v4;
  }
  return parseV6(text);
}

/** A compiled CIDR block. */
export interface Cidr {
  /** The block as written, normalised (`10.0.0.0/8`). */
  readonly text: string;
  /** Whether the 128-bit address is inside the block. */
  contains(address: bigint): boolean;
}

/**
 * Parses `a.b.c.d/n` or `x:y::z/n`; a bare address is a single-host block. Host bits must be zero.
 * @throws IAM:InvalidCondition naming the CIDR.
 */
export function parseCidr(text: string): Cidr {
  const bad = (why: string) =>
    AuthzErrors.InvalidCondition(`invalid CIDR ${JSON.stringify(text)}: ${why}`, { details: { cidr: text } });
  if (typeof text !== "string") throw bad("not a string");
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const isV4 = !addrText.includes(":");
  const address = parseIp(addrText);
  if (address === undefined) throw bad("not an IPv4 or IPv6 address");
  const width = isV4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > width) throw bad(`prefix length must be 0..${width}`);
    bits = Number(p);
  }
  const prefix = isV4 ? 96 + bits : bits;
  const mask = prefix === 0 ? 0n : (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
  if ((address & ~mask & ALL_ONES) !== 0n) throw bad("host bits are set (write the network address)");
  return { text: `${addrText}/${bits}`, contains: (a) => (a & mask) === address };
}
