/**
 * IP address management, pure: which addresses of a subnet a port may get, and picking a free
 * one. Claims are made by the store (one key per address, created in the same transaction as the
 * port, compared absent), so two concurrent creates can never both get an address: the loser's
 * transaction fails and it picks again (randomly, to spread retries).
 */
import { bigToIp, ipToBig, netLast, parseNet, type Net } from "./cidr.ts";
import type { AllocationPool, Subnet } from "../types.ts";

/** A pool as numbers. */
interface Range {
  start: bigint;
  end: bigint;
}

function ranges(pools: readonly AllocationPool[]): Range[] {
  return pools.map((p) => ({ start: ipToBig(p.start)!.value, end: ipToBig(p.end)!.value }));
}

/**
 * The default allocation pool of a network: every host address after the gateway (the network
 * address, and for IPv4 the broadcast address, excluded).
 */
export function defaultPools(net: Net, gateway: bigint): AllocationPool[] {
  const first = net.network + 1n;
  const last = net.version === 4 ? netLast(net) - 1n : netLast(net);
  const out: AllocationPool[] = [];
  if (gateway > first) out.push({ start: bigToIp(first, net.version), end: bigToIp(gateway - 1n, net.version) });
  if (gateway < last) out.push({ start: bigToIp(gateway + 1n, net.version), end: bigToIp(last, net.version) });
  return out;
}

/** Whether `ip` is one a port may hold in `subnet`: inside the subnet, not the network, broadcast or gateway address. */
export function assignable(subnet: Pick<Subnet, "cidr" | "gatewayIp">, ip: string): boolean {
  const net = parseNet(subnet.cidr)!;
  const a = ipToBig(ip);
  if (!a || a.version !== net.version || a.value < net.network || a.value > netLast(net)) return false;
  if (a.value === net.network) return false;
  if (net.version === 4 && a.value === netLast(net)) return false;
  return a.value !== ipToBig(subnet.gatewayIp)?.value;
}

/**
 * A free address from the subnet's pools, or undefined when every one is taken. `used` holds
 * canonical addresses. The lowest free address first; with `random`, a random start point (for
 * retries after a lost race, so concurrent creates spread out).
 */
export function pickFree(subnet: Pick<Subnet, "allocationPools" | "ipVersion">, used: ReadonlySet<string>, random = false): string | undefined {
  const rs = ranges(subnet.allocationPools);
  const total = rs.reduce((n, r) => n + (r.end - r.start + 1n), 0n);
  if (total <= 0n) return undefined;
  // Walk the pools as one sequence of `total` addresses, from offset `from`, wrapping once.
  const from = random ? BigInt(Math.floor(Math.random() * Number(total > 1n << 40n ? 1n << 40n : total))) : 0n;
  const at = (offset: bigint): bigint => {
    let o = offset;
    for (const r of rs) {
      const n = r.end - r.start + 1n;
      if (o < n) return r.start + o;
      o -= n;
    }
    throw new Error("offset beyond pools");
  };
  // At most used.size + 1 candidates can be needed before a free one (or the end).
  const limit = BigInt(used.size) + 1n < total ? BigInt(used.size) + 1n : total;
  for (let i = 0n; i < limit; i++) {
    const ip = bigToIp(at((from + i) % total), subnet.ipVersion);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** A random locally administered unicast MAC, `fa:16:xx:xx:xx:xx`. */
export function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = 0xfa; // locally administered (bit 1), unicast (bit 0 clear)
  b[1] = 0x16;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}
