/**
 * Which addresses an image import may fetch from (SSRF guard). A tenant names the URL, but
 * plasmavmc makes the request from inside the cloud: without a guard a tenant could read the
 * cloud's metadata service (169.254.169.254), its own APIs on loopback, or anything on the
 * private networks the servers sit on. So, by default, only http(s) URLs whose host resolves to
 * public unicast addresses are fetched; an operator widens that with
 * `[plasmavmc] image_import_allow`: CIDRs (`10.0.0.0/8`, `fd00::/8`, a bare address) or host
 * patterns (`mirror.lan`, `*.images.example.com`, compared case-insensitively with the URL's
 * host name). Addresses of this host's own interfaces (where PhotonCloud listens) count as
 * not public even when they are public, unless a CIDR allows them.
 *
 * The check is on the resolved addresses, all of them (one bad answer refuses the URL), and the
 * caller then connects to the checked address only (import-fetch.ts pins it), so a DNS answer
 * that changes between check and connect (rebinding) cannot slip through; every redirect is
 * checked again the same way.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { PlasmavmcErrors } from "../errors.ts";

/** A resolver: every address of a host name (`dns.lookup` with `all: true` by default). */
export type Resolver = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;

/** Where a checked URL may be fetched from: the URL and the addresses that passed the check. */
export interface CheckedTarget {
  url: URL;
  /** The host name without IPv6 brackets. */
  host: string;
  addresses: { address: string; family: 4 | 6 }[];
}

/** Options of {@link ImportPolicy}. */
export interface ImportPolicyOptions {
  /** `[plasmavmc] image_import_allow`: CIDRs and host patterns allowed besides public addresses. */
  allow?: readonly string[];
  /** Resolves host names (tests may pass their own; default `dns.lookup`, all addresses). */
  resolve?: Resolver;
}

/** Ranges that are not public unicast, with what to call them in an error (IANA special-purpose registries). */
const SPECIAL: readonly [string, number, 4 | 6, string][] = [
  ["0.0.0.0", 8, 4, "a 'this network' address"],
  ["10.0.0.0", 8, 4, "a private address"],
  ["100.64.0.0", 10, 4, "a shared (carrier-grade NAT) address"],
  ["127.0.0.0", 8, 4, "a loopback address"],
  ["169.254.0.0", 16, 4, "a link-local address (where cloud metadata services live)"],
  ["172.16.0.0", 12, 4, "a private address"],
  ["192.0.0.0", 24, 4, "a reserved address"],
  ["192.0.2.0", 24, 4, "a documentation address"],
  ["192.88.99.0", 24, 4, "a reserved address"],
  ["192.168.0.0", 16, 4, "a private address"],
  ["198.18.0.0", 15, 4, "a benchmarking address"],
  ["198.51.100.0", 24, 4, "a documentation address"],
  ["203.0.113.0", 24, 4, "a documentation address"],
  ["224.0.0.0", 4, 4, "a multicast address"],
  ["240.0.0.0", 4, 4, "a reserved address"],
  ["::", 96, 6, "the unspecified or an IPv4-compatible address"],
  ["::1", 128, 6, "a loopback address"],
  ["64:ff9b::", 96, 6, "a NAT64 address"],
  ["64:ff9b:1::", 48, 6, "a NAT64 address"],
  ["100::", 64, 6, "a discard address"],
  ["2001::", 23, 6, "a reserved address"],
  ["2001:db8::", 32, 6, "a documentation address"],
  ["2002::", 16, 6, "a 6to4 address"],
  ["fc00::", 7, 6, "a private (unique local) address"],
  ["fe80::", 10, 6, "a link-local address"],
  ["fec0::", 10, 6, "a site-local address"],
  ["ff00::", 8, 6, "a multicast address"],
];

const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d` or `::ffff:xxxx:xxxx`), else undefined. */
function mappedV4(address: string): string | undefined {
  const a = address.toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (!hex) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

const defaultResolve: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/**
 * Parses `[plasmavmc] image_import_allow`.
 * @throws PLASMAVMC:InvalidArgument naming the entry that is neither a CIDR nor a host pattern.
 */
export function parseAllowList(entries: readonly string[]): { cidrs: BlockList; hosts: string[] } {
  const cidrs = new BlockList();
  const hosts: string[] = [];
  for (const raw of entries) {
    const e = raw.trim().toLowerCase();
    const [addr, bits, extra] = e.split("/");
    const v = isIP(addr ?? "");
    if (v !== 0 && extra === undefined) {
      const max = v === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!(prefix >= 0 && prefix <= max)) throw PlasmavmcErrors.InvalidArgument(`plasmavmc.image_import_allow: ${JSON.stringify(raw)} has a bad prefix length`, { details: { field: "image_import_allow" } });
      cidrs.addSubnet(addr!, prefix, v === 4 ? "ipv4" : "ipv6");
    } else if (HOST_PATTERN.test(e) && e.length <= 253) {
      hosts.push(e);
    } else {
      throw PlasmavmcErrors.InvalidArgument(`plasmavmc.image_import_allow: ${JSON.stringify(raw)} is neither a CIDR nor a host name pattern`, { details: { field: "image_import_allow" } });
    }
  }
  return { cidrs, hosts };
}

/** The import guard (see the file comment). */
export class ImportPolicy {
  private readonly allowed: BlockList;
  private readonly hosts: string[];
  private readonly special = SPECIAL.map(([net, prefix, v, what]) => {
    const b = new BlockList();
    b.addSubnet(net, prefix, v === 4 ? "ipv4" : "ipv6");
    return { b, v, what };
  });
  private readonly resolve: Resolver;

  /** @throws PLASMAVMC:InvalidArgument for a bad allow-list entry. */
  constructor(options: ImportPolicyOptions = {}) {
    const { cidrs, hosts } = parseAllowList(options.allow ?? []);
    this.allowed = cidrs;
    this.hosts = hosts;
    this.resolve = options.resolve ?? defaultResolve;
  }

  /** Whether a host name matches an allowed host pattern. */
  hostAllowed(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, "");
    return this.hosts.some((p) => (p.startsWith("*.") ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p));
  }

  /** Why `address` may not be fetched from, or undefined when it may (ignoring host patterns). */
  refusal(address: string): string | undefined {
    const v4 = mappedV4(address);
    const [a, v] = v4 ? [v4, 4 as const] : [address, isIP(address) as 4 | 6];
    if (v !== 4 && v !== 6) return "not an IP address";
    const type = v === 4 ? "ipv4" : "ipv6";
    if (this.allowed.check(a, type) || (v4 !== undefined && this.allowed.check(address, "ipv6"))) return undefined;
    for (const s of this.special) if (s.v === v && s.b.check(a, type)) return s.what;
    if (ownAddresses().has(canonical(a))) return "an address of this PhotonCloud host";
    return undefined;
  }

  /**
   * Checks a URL: http or https, and every address its host resolves to public or allowed.
   * @returns the addresses to connect to (connect to these only).
   * @throws PLASMAVMC:ImportForbidden naming the address and why; PLASMAVMC:InvalidArgument for
   *   other schemes; PLASMAVMC:Unavailable when the host does not resolve.
   */
  async check(url: URL): Promise<CheckedTarget> {
    if (url.protocol !== "http:" && url.protocol !== "https:") throw PlasmavmcErrors.InvalidArgument(`url must be http or https, got ${url.protocol.replace(/:$/, "")}`, { details: { field: "url" } });
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const literal = isIP(host);
    let addresses: { address: string; family: 4 | 6 }[];
    if (literal) addresses = [{ address: host, family: literal as 4 | 6 }];
    else {
      try {
        addresses = await this.resolve(host);
      } catch (e) {
        throw PlasmavmcErrors.Unavailable(`cannot resolve ${host}: ${(e as Error).message}`, { details: { field: "url", host } });
      }
      if (addresses.length === 0) throw PlasmavmcErrors.Unavailable(`${host} resolves to no address`, { details: { field: "url", host } });
    }
    if (!literal && this.hostAllowed(host)) return { url, host, addresses };
    for (const { address } of addresses) {
      const why = this.refusal(address);
      if (why) {
        const shown = literal ? address : `${host} (${address})`;
        throw PlasmavmcErrors.ImportForbidden(`image import from ${shown} refused: ${why}; an operator may allow it with [plasmavmc] image_import_allow`, { details: { field: "url", host, address, reason: why } });
      }
    }
    return { url, host, addresses };
  }
}

function canonical(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** Addresses of this host's interfaces (where PhotonCloud's services listen), re-read at most every 10 s. */
function ownAddresses(): Set<string> {
  if (Date.now() - own.at > 10_000) {
    const s = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) s.add(canonical(a.address.replace(/%.*$/, "")));
    own = { at: Date.now(), set: s };
  }
  return own.set;
}
let own = { at: 0, set: new Set<string>() };
