/**
 * novanet's Linux data plane: TCP throughput VM → VM across the VXLAN overlay against the raw
 * underlay veth between the two hosts (issue 5's goal: the overlay ≥ 90% of the raw link).
 *
 * Two "hypervisor hosts" as network namespaces joined by an underlay veth
 * (dataplane/linux/testbed.ts); one VPC with a VM namespace on each host, plugged through ports of
 * the Linux driver exactly as the agent plugs them (veth on the VPC bridge, VXLAN with pushed
 * forwarding entries, the project's default security group: members only, stateful, conntrack
 * zone per VPC), and a second VPC whose ports have no security group (to tell the filtering's
 * share from the overlay's). A fourth path is the first one with the outer VXLAN packets tracked
 * by conntrack again (the driver's `notrack` rules taken out for that run and put back after), as
 * the driver did before it stopped tracking them. The same tool (iperf3, one stream, `--one-off` servers bound to the
 * namespace's address only) measures VM → VM over each overlay and host A → host B over the raw
 * veth, in interleaved rounds (the order rotates), and the report gives the medians and ratios.
 *
 * Run as root: `npx bun bench/novanet/overlay-throughput.ts [rounds=7] [--seconds 4] [--packet-cpus LIST] [--write FILE]`.
 *
 * `--packet-cpus LIST` measures a host tuned for packet processing (ADR 0023): the driver steers
 * its ports' and VXLAN devices' receive work to LIST (`[novanet] agent_packet_cpus`), and the
 * underlay veths get the same RPS bitmap, as an operator would give the NIC — so both the overlay
 * and the raw path run with the same steering.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { netnsUnavailable, Testbed, must } from "../../dataplane/linux/testbed.ts";
import { bridgeName, portDeviceName, vxlanName } from "../../dataplane/linux/names.ts";
import { cpuListToMask } from "../../dataplane/linux/packet-steering.ts";
import { cpus } from "node:os";
import { NFT_TABLE, VXLAN_PORT } from "../../dataplane/linux/nft-secgroups.ts";
import type { HostNetworkState, PortState, SecurityGroupState } from "../../dataplane/vpc-dataplane.ts";

const args = process.argv.slice(2);
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const writeTo = flag("--write");
const seconds = Number(flag("--seconds") ?? 4);
const packetCpus = flag("--packet-cpus");
const rounds = Number(args.find((a) => /^\d+$/.test(a) && !["--seconds", "--packet-cpus"].includes(args[args.indexOf(a) - 1]!)) ?? 7);

const reason = (await netnsUnavailable()) ?? (Bun.which("iperf3") ? undefined : "iperf3 is not installed (apt-get install iperf3)");
if (reason) {
  console.log(`skipping: ${reason}`);
  process.exit(0);
}

const tb = new Testbed(`pct${process.pid % 100000}`);
const procs: ReturnType<typeof Bun.spawn>[] = [];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * The two hosts' desired states: VPC 4242 (VM a on host A, VM b on host B, the default group) and
 * VPC 4243 (VM c on A, VM d on B, no security group).
 */
function states(vm: Record<"a" | "b" | "c" | "d", string>): { a: HostNetworkState; b: HostNetworkState } {
  const group = "sg-default";
  const port = (id: string, mac: string, ip: string, netns: string, groups: string[]): PortState => ({
    id, mac, ips: [ip], securityGroups: groups, device: { kind: "veth", netns },
  });
  const pa = port("port-a", "02:00:00:00:0a:01", "10.0.0.10", vm.a, [group]);
  const pb = port("port-b", "02:00:00:00:0b:01", "10.0.0.11", vm.b, [group]);
  const pc = port("port-c", "02:00:00:00:0c:01", "10.1.0.10", vm.c, []);
  const pd = port("port-d", "02:00:00:00:0d:01", "10.1.0.11", vm.d, []);
  const groups: SecurityGroupState[] = [
    { id: group, rules: [{ direction: "ingress", remote: { groupId: group, memberIps: ["10.0.0.10", "10.0.0.11"] } }, { direction: "egress" }] },
  ];
  const vpc = (vni: number, cidr: string, ports: PortState[], remote: PortState, hostIp: string) => ({
    id: `vpc-${vni}`, vni, subnets: [{ id: `sn-${vni}`, cidr }], ports,
    remoteEndpoints: [{ mac: remote.mac, ips: remote.ips, hostIp }],
  });
  return {
    a: { underlayIp: tb.underlayA, vpcs: [vpc(4242, "10.0.0.0/24", [pa], pb, tb.underlayB), vpc(4243, "10.1.0.0/24", [pc], pd, tb.underlayB)], securityGroups: groups },
    b: { underlayIp: tb.underlayB, vpcs: [vpc(4242, "10.0.0.0/24", [pb], pa, tb.underlayA), vpc(4243, "10.1.0.0/24", [pd], pc, tb.underlayA)], securityGroups: groups },
  };
}

/** Waits until something listens on TCP `port` in `ns`. */
async function listening(ns: string, port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await must(["ip", "netns", "exec", ns, "ss", "-Htln", `sport = :${port}`])).trim()) return;
    await Bun.sleep(5);
  }
  throw new Error(`iperf3 did not listen in ${ns}`);
}

/** One iperf3 run from `client` to `server`'s `ip`; resolves to the receiver's Gbit/s and the sender's retransmits. */
async function iperf(client: string, server: string, ip: string, port: number): Promise<{ gbps: number; retransmits: number }> {
  const srv = Bun.spawn(["ip", "netns", "exec", server, "iperf3", "-s", "--one-off", "-B", ip, "-p", String(port)], { stdout: "ignore", stderr: "ignore" });
  procs.push(srv);
  await listening(server, port);
  const cli = Bun.spawn(["ip", "netns", "exec", client, "iperf3", "-c", ip, "-p", String(port), "-t", String(seconds), "-O", "1", "-J"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(cli.stdout).text(), cli.exited]);
  if (srv.exitCode === null) {
    const t = setTimeout(() => srv.kill("SIGKILL"), 2000);
    await srv.exited;
    clearTimeout(t);
  }
  if (code !== 0) throw new Error(`iperf3 ${client} -> ${ip} failed: ${out.slice(0, 400)}`);
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits?: number } } };
  return { gbps: j.end.sum_received.bits_per_second / 1e9, retransmits: j.end.sum_sent.retransmits ?? 0 };
}

/** Takes the driver's `notrack` rules for the VXLAN packets out of both hosts (`on`), or puts them back. */
async function trackVxlan(on: boolean): Promise<void> {
  for (const [ns, ip] of [[tb.hostA, tb.underlayA], [tb.hostB, tb.underlayB]] as const) {
    const nft = (script: string) => must(["ip", "netns", "exec", ns, "nft", "-f", "-"], script);
    if (!on) {
      await nft(`insert rule inet ${NFT_TABLE} prerouting ip daddr ${ip} udp dport ${VXLAN_PORT} notrack\nadd rule inet ${NFT_TABLE} output ip saddr ${ip} udp dport ${VXLAN_PORT} notrack\n`);
      continue;
    }
    for (const chain of ["prerouting", "output"]) {
      const listed = await must(["ip", "netns", "exec", ns, "nft", "-a", "list", "chain", "inet", NFT_TABLE, chain]);
      for (const m of listed.matchAll(/notrack # handle (\d+)/g)) await nft(`delete rule inet ${NFT_TABLE} ${chain} handle ${m[1]}\n`);
    }
  }
}

/** The offload features that matter here, per device (`ethtool -k`), as `name: on/off` pairs. */
async function features(ns: string, dev: string): Promise<string> {
  const out = await must(["ip", "netns", "exec", ns, "ethtool", "-k", dev]);
  const want = ["tx-checksumming", "scatter-gather", "tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload", "tx-udp_tnl-segmentation", "tx-udp_tnl-csum-segmentation", "rx-udp-gro-forwarding"];
  return out.split("\n").map((l) => l.trim().split(":")).filter(([k]) => want.includes(k!)).map(([k, v]) => `${k}: ${v!.trim().split(" ")[0]}`).join(", ");
}

const loadAtStart = loadavg()[0]!;
try {
  await tb.destroy();
  await tb.create();
  const vm = { a: await tb.vm("a"), b: await tb.vm("b"), c: await tb.vm("c"), d: await tb.vm("d") };
  const vmA = vm.a;
  const s = states(vm);
  const steering = packetCpus ? { packetCpus } : {};
  const [da, db] = [tb.driver("a", steering), tb.driver("b", steering)];
  if (packetCpus) {
    const mask = cpuListToMask(packetCpus, cpus().length);
    for (const ns of [tb.hostA, tb.hostB]) await must(["ip", "netns", "exec", ns, "sh", "-c", `echo ${mask} > /sys/class/net/ul0/queues/rx-0/rps_cpus`]);
  }
  await Promise.all([da.apply(s.a), db.apply(s.b)]);
  /** The measured paths: client namespace, server namespace, server address. */
  const paths = [
    { name: "overlay VM→VM, default security group", client: vm.a, server: vm.b, ip: "10.0.0.11", port: 5201 },
    { name: "overlay VM→VM, no security group", client: vm.c, server: vm.d, ip: "10.1.0.11", port: 5202 },
    { name: "underlay host→host (raw veth)", client: tb.hostA, server: tb.hostB, ip: tb.underlayB, port: 5203 },
    { name: "overlay VM→VM, default security group, outer VXLAN tracked", client: vm.a, server: vm.b, ip: "10.0.0.11", port: 5204, trackVxlan: true },
  ];
  for (const p of paths) if (!(await tb.ping(p.client, p.ip, 5))) throw new Error(`${p.client} does not reach ${p.ip}`);

  const mtu = async (ns: string, dev: string) => (JSON.parse(await must(["ip", "-n", ns, "-j", "link", "show", dev])) as { mtu: number }[])[0]!.mtu;
  const setup = {
    vmMtu: await mtu(vmA, "eth0"),
    underlayMtu: await mtu(tb.hostA, "ul0"),
    vxlanMtu: await mtu(tb.hostA, vxlanName(4242)),
    feats: {
      "VM eth0": await features(vmA, "eth0"),
      [`port ${portDeviceName("port-a", "veth")}`]: await features(tb.hostA, portDeviceName("port-a", "veth")),
      [`bridge ${bridgeName(4242)}`]: await features(tb.hostA, bridgeName(4242)),
      [`vxlan ${vxlanName(4242)}`]: await features(tb.hostA, vxlanName(4242)),
      "underlay ul0 (host B)": await features(tb.hostB, "ul0"),
    },
  };

  const got = paths.map(() => [] as number[]);
  const retrans = paths.map(() => [] as number[]);
  const lines: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = paths.map((_, i) => (i + r) % paths.length);
    for (const i of order) {
      const p = paths[i]!;
      if (p.trackVxlan) await trackVxlan(true);
      const res = await iperf(p.client, p.server, p.ip, p.port).finally(async () => {
        if (!p.trackVxlan) return;
        // the T path really had its VXLAN packets tracked
        if (!(await must(["ip", "netns", "exec", tb.hostB, "cat", "/proc/net/nf_conntrack"])).includes(`dport=${VXLAN_PORT}`)) throw new Error("the T path's VXLAN packets were not tracked");
        await trackVxlan(false);
      });
      got[i]!.push(res.gbps);
      retrans[i]!.push(res.retransmits);
    }
    const [sg, plain, raw, tracked] = got.map((g) => g.at(-1)!);
    lines.push(`| ${r + 1} | ${order.map((i) => "SNUT"[i]).join(" → ")} | ${sg!.toFixed(2)} | ${plain!.toFixed(2)} | ${tracked!.toFixed(2)} | ${raw!.toFixed(2)} | ${((sg! / raw!) * 100).toFixed(0)}% | ${((plain! / raw!) * 100).toFixed(0)}% | ${((tracked! / raw!) * 100).toFixed(0)}% | ${loadavg()[0]!.toFixed(1)} |`);
    console.log(lines.at(-1));
  }
  const med = got.map(median);
  /** Average bytes per received packet (a GSO/GRO super-packet counts once) on `dev` in `ns`. */
  const avgRx = async (ns: string, dev: string) => {
    const j = JSON.parse(await must(["ip", "-n", ns, "-s", "-json", "link", "show", dev])) as { stats64: { rx: { bytes: number; packets: number } } }[];
    return Math.round(j[0]!.stats64.rx.bytes / j[0]!.stats64.rx.packets);
  };
  const sizes = { vmB: await avgRx(vm.b, "eth0"), hostB: await avgRx(tb.hostB, "ul0"), vxlanB: await avgRx(tb.hostB, vxlanName(4242)) };
  const pct = (x: number) => `${((x / med[2]!) * 100).toFixed(0)}%`;
  /** Median over rounds of path i's throughput over path j's in the same round (robust to load swings between rounds). */
  const paired = (i: number, j: number) => `${(median(got[i]!.map((x, k) => x / got[j]![k]!)) * 100).toFixed(0)}%`;
  const report = [
    "# novanet: TCP throughput VM → VM over the VXLAN overlay vs the raw underlay veth",
    "",
    `Command: \`npx bun bench/novanet/overlay-throughput.ts ${rounds} --seconds ${seconds}${packetCpus ? ` --packet-cpus ${packetCpus}` : ""}\` (root; two hosts as network namespaces joined by a veth, VM namespaces on the Linux driver; iperf3 ${(await must(["iperf3", "--version"])).split(" ")[1]}, one TCP stream, ${seconds} s per run after a 1 s warm-up (\`-O 1\`), ${rounds} rounds with the order rotating; ${new Date().toISOString().slice(0, 10)}; 2 cores shared with other work, load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end).`,
    "",
    `MTU: VM eth0 ${setup.vmMtu}, VXLAN device ${setup.vxlanMtu}, underlay veth ${setup.underlayMtu}. Packet steering: ${packetCpus ? `receive work of the ports, VXLAN devices and underlay veths on CPUs ${packetCpus} (RPS)` : "none (the kernel's default)"}.`,
    "",
    "| round | order | S Gbit/s | N Gbit/s | T Gbit/s | U Gbit/s | S / U | N / U | T / U | load |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...lines,
    `| **median** | | **${med[0]!.toFixed(2)}** | **${med[1]!.toFixed(2)}** | **${med[3]!.toFixed(2)}** | **${med[2]!.toFixed(2)}** | **${pct(med[0]!)}** | **${pct(med[1]!)}** | **${pct(med[3]!)}** | |`,
    "",
    `Paired (the median over rounds of the ratio within a round): **S / U ${paired(0, 2)}**, N / U ${paired(1, 2)}, T / U ${paired(3, 2)}; S / T ${paired(0, 3)}, N / S ${paired(1, 0)}.`,
    "",
    "S: overlay VM → VM with the default security group (what a tenant gets); N: overlay without a security group; T: S with the outer VXLAN packets tracked by conntrack (the driver before this change); U: host → host over the raw underlay veth.",
    "",
    `Average size of a received packet over the whole run (one super-packet counts once): VM b's eth0 ${sizes.vmB} B, host B's VXLAN device ${sizes.vxlanB} B, host B's underlay veth ${sizes.hostB} B.`,
    "",
    `Retransmits per run (median): ${paths.map((p, i) => `${p.name} ${median(retrans[i]!)}`).join("; ")}.`,
    "",
    "Offloads on host A's path (and the underlay on host B), `ethtool -k`:",
    "",
    ...Object.entries(setup.feats).map(([k, v]) => `- ${k}: ${v}`),
    "",
  ].join("\n");
  console.log(report);
  if (writeTo) writeFileSync(writeTo, report);
} finally {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  await tb.destroy();
}
