/**
 * A throw-away lab of network namespaces for the Linux data plane tests and benchmarks: two
 * "hypervisor hosts" joined by an underlay veth, an "external" network behind a bridge on host A,
 * and "VM" namespaces. Every name starts with the testbed's tag, so `destroy()` removes all of it
 * (and any dnsmasq it started) even after a failed test. Nothing is created in the root namespace.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LinuxVpcDataplane, type LinuxVpcDataplaneOptions } from "./linux-dataplane.ts";

async function sh(argv: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn({ cmd: argv, stdin: input === undefined ? "ignore" : new Blob([input]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

/** Runs a command and throws with its stderr on failure. */
export async function must(argv: string[], input?: string): Promise<string> {
  const r = await sh(argv, input);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.err.trim()}`);
  return r.out;
}

/** Why the namespace tests cannot run here, or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "not root";
  for (const tool of ["ip", "nft", "bridge"]) if (!Bun.which(tool)) return `${tool} is not installed`;
  const probe = `pcprobe${process.pid}`;
  const r = await sh(["ip", "netns", "add", probe]);
  if (r.code !== 0) return `ip netns add failed: ${r.err.trim()}`;
  await sh(["ip", "netns", "del", probe]);
  return undefined;
}

const PROBE = join(import.meta.dir, "testdata", "probe.ts");

/** The lab. */
export class Testbed {
  readonly hostA: string;
  readonly hostB: string;
  readonly ext: string;
  readonly stateDir: string;
  readonly underlayA = "192.168.77.1";
  readonly underlayB = "192.168.77.2";
  private readonly procs: ReturnType<typeof Bun.spawn>[] = [];

  constructor(readonly tag: string) {
    this.hostA = `${tag}-ha`;
    this.hostB = `${tag}-hb`;
    this.ext = `${tag}-ext`;
    this.stateDir = join(tmpdir(), `${tag}-state`);
  }

  /** Options for a driver managing host A or B. */
  driverOptions(host: "a" | "b", extra: Partial<LinuxVpcDataplaneOptions> = {}): LinuxVpcDataplaneOptions {
    return {
      netns: host === "a" ? this.hostA : this.hostB,
      nsPrefix: `${this.tag}-${host}`,
      stateDir: join(this.stateDir, host),
      logger: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
      ...extra,
    };
  }

  driver(host: "a" | "b", extra: Partial<LinuxVpcDataplaneOptions> = {}): LinuxVpcDataplane {
    return new LinuxVpcDataplane(this.driverOptions(host, extra));
  }

  /** Creates the hosts, the underlay and the external network (203.0.113.1/24 in `ext`). */
  async create(): Promise<void> {
    for (const n of [this.hostA, this.hostB, this.ext]) await must(["ip", "netns", "add", n]);
    await must(["ip", "-n", this.hostA, "-batch", "-"], [
      `link add ul0 type veth peer name ul0 netns ${this.hostB}`,
      `addr add ${this.underlayA}/24 dev ul0`,
      "link set ul0 up",
      "link set lo up",
      "link add brext type bridge",
      "link set brext up",
      `link add extp master brext up type veth peer name eth0 netns ${this.ext}`,
    ].join("\n") + "\n");
    await must(["ip", "-n", this.hostB, "-batch", "-"], `addr add ${this.underlayB}/24 dev ul0\nlink set ul0 up\nlink set lo up\n`);
    await must(["ip", "-n", this.ext, "-batch", "-"], "addr add 203.0.113.1/24 dev eth0\nlink set eth0 up\nlink set lo up\n");
  }

  /** A "VM": an empty namespace named `<tag>-vm-<name>`. */
  async vm(name: string): Promise<string> {
    const ns = `${this.tag}-vm-${name}`;
    await must(["ip", "netns", "add", ns]);
    await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    return ns;
  }

  /** Pings once from `ns`; true when answered within `waitS` seconds. */
  async ping(ns: string, ip: string, tries = 1, waitS = 1): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      const r = await sh(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", String(waitS), ip]);
      if (r.code === 0) return true;
    }
    return false;
  }

  /** Starts a probe server inside `ns` and waits for it to be ready. */
  async serve(ns: string, kind: "tcp-listen" | "tcp-listen6" | "udp-echo", port: number): Promise<void> {
    const p = Bun.spawn({ cmd: ["ip", "netns", "exec", ns, process.execPath, PROBE, kind, String(port)], stdout: "pipe", stderr: "inherit" });
    this.procs.push(p);
    const reader = p.stdout.getReader();
    const { value } = await reader.read();
    if (!new TextDecoder().decode(value).includes("ready")) throw new Error(`probe ${kind} did not start in ${ns}`);
    reader.releaseLock();
  }

  /** A probe client; resolves to its answer, or undefined when it got none. */
  async ask(ns: string, kind: "tcp-connect" | "udp-ask", ip: string, port: number, ms = 700): Promise<string | undefined> {
    const r = await sh(["ip", "netns", "exec", ns, process.execPath, PROBE, kind, ip, String(port), String(ms)]);
    return r.code === 0 ? r.out.trim() : undefined;
  }

  /** Received packets on `dev` inside `ns`. */
  async rxPackets(ns: string, dev = "eth0"): Promise<number> {
    const j = JSON.parse(await must(["ip", "-n", ns, "-s", "-json", "link", "show", dev])) as { stats64: { rx: { packets: number } } }[];
    return j[0]!.stats64.rx.packets;
  }

  /** Removes every namespace, process and file of the lab. Safe to call twice. */
  async destroy(): Promise<void> {
    for (const p of this.procs) p.kill("SIGKILL");
    // dnsmasq instances started by drivers under our state dir.
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (cmd.includes(this.stateDir)) process.kill(Number(pid), "SIGKILL");
      } catch {
        /* gone */
      }
    }
    const list = await sh(["ip", "-json", "netns", "list"]);
    const names = list.out.trim() ? (JSON.parse(list.out) as { name: string }[]).map((n) => n.name) : [];
    for (const n of names) if (n.startsWith(`${this.tag}-`)) await sh(["ip", "netns", "del", n]);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
