/**
 * Packet steering (RPS) for the devices the Linux driver owns: a port's host end (veth or tap)
 * and a VPC's VXLAN device hand what they receive to the CPUs the operator named
 * (`[novanet] agent_packet_cpus`), so the overlay's own work — the bridge, VXLAN encapsulation
 * and decapsulation, the security groups — runs beside the VMs' senders instead of on their CPU
 * (ADR 0023). Unset, the kernel's default stays (no steering). The underlay NIC is the operator's.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import type { CommandRunner } from "./exec.ts";

/**
 * Parses a CPU list (`1`, `2-3`, `1,4-7`) into the hex bitmap `rps_cpus` takes (32-bit groups,
 * most significant first, comma-separated). @throws Error naming what is wrong.
 * @example cpuListToMask("1-2,4") // "16"
 */
export function cpuListToMask(list: string, cpuCount: number): string {
  const cpus = new Set<number>();
  for (const part of list.split(",").map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`${JSON.stringify(part)} is not a CPU or a range of CPUs (give e.g. 1,2-3)`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (from > to) throw new Error(`range ${part} runs backwards`);
    if (to >= cpuCount) throw new Error(`CPU ${to} does not exist (this host has CPUs 0-${cpuCount - 1})`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  const groups: number[] = new Array(Math.floor(Math.max(...cpus) / 32) + 1).fill(0);
  for (const c of cpus) groups[Math.floor(c / 32)]! |= 1 << c % 32;
  return groups
    .reverse()
    .map((g, i) => (g >>> 0).toString(16).padStart(i === 0 ? 1 : 8, "0"))
    .join(",");
}

/**
 * Writes `mask` into every receive queue's `rps_cpus` of `devices` in the host's namespace
 * (missing devices are skipped: their create failed and is reported elsewhere). In another
 * namespace this needs `ip netns exec`, whose fresh /sys shows that namespace's devices.
 */
export async function steerDevices(run: CommandRunner, devices: string[], mask: string): Promise<void> {
  if (devices.length === 0) return;
  if (run.hostNetns === undefined) {
    for (const dev of devices) {
      const dir = `/sys/class/net/${dev}/queues`;
      if (!existsSync(dir)) continue;
      for (const q of readdirSync(dir)) if (q.startsWith("rx-")) writeFileSync(`${dir}/${q}/rps_cpus`, mask);
    }
    return;
  }
  const script = `for d in ${devices.join(" ")}; do for q in /sys/class/net/$d/queues/rx-*; do [ -e "$q/rps_cpus" ] && echo ${mask} > "$q/rps_cpus"; done; done; true`;
  await run.run(["ip", "netns", "exec", run.hostNetns, "sh", "-c", script]);
}
