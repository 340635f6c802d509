/**
 * The metadata proxies of one host: one per VPC with local VMs, inside novanet's router namespace
 * of that VPC (the namespace holding the subnets' gateway, through which a guest routes
 * 169.254.169.254) or, for a VPC without a router, its DHCP namespace (whose DHCP server hands
 * guests a host route to 169.254.169.254 through it: option 121), listening on
 * 169.254.169.254:80 (the address is put on the namespace's `lo`) and forwarding to the host's
 * metadata server with the VPC id as network. A proxy moves when the VPC gets or loses its router.
 * A VPC with neither namespace on this host has no metadata path (logged once). Pids are kept in
 * `<dir>/<vni>.pid`, so a restarted agent ends the proxies of its predecessor before starting its own.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../../lib/log.ts";
import { photonCommand } from "../../../lib/self-command.ts";

/** What a proxy serves. */
export interface ProxyTarget {
  vni: number;
  vpc: string;
  /** Namespaces to serve in, the first that exists: the router's, then the DHCP server's. */
  netns: string[];
}

/** The set of running proxies (see the file comment). */
export class MetadataProxies {
  private readonly running = new Map<number, { vpc: string; netns: string; proc: ReturnType<typeof Bun.spawn> }>();
  private readonly warned = new Set<number>();

  constructor(private readonly dir: string, private readonly upstream: string, private readonly log: Logger) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(dir)) if (f.endsWith(".pid")) this.killStale(join(dir, f));
  }

  private killStale(file: string): void {
    const pid = Number(readFileSync(file, "utf8"));
    try {
      if (Number.isSafeInteger(pid) && pid > 1 && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("metadata-proxy")) process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
    rmSync(file, { force: true });
  }

  /** Makes the running proxies exactly `targets` (those whose namespace exists). */
  async sync(targets: ProxyTarget[]): Promise<void> {
    const want = new Map<number, { vni: number; vpc: string; netns: string | undefined; all: string[] }>();
    for (const t of targets) want.set(t.vni, { vni: t.vni, vpc: t.vpc, netns: t.netns.find((n) => existsSync(`/run/netns/${n}`)), all: t.netns });
    for (const [vni, p] of this.running) {
      const w = want.get(vni);
      if (w?.vpc === p.vpc && w.netns === p.netns && p.proc.exitCode === null) continue;
      p.proc.kill(9);
      this.running.delete(vni);
      rmSync(join(this.dir, `${vni}.pid`), { force: true });
    }
    for (const t of want.values()) {
      if (this.running.has(t.vni)) continue;
      if (!t.netns) {
        if (!this.warned.has(t.vni)) this.log.warn("no router or DHCP namespace for the VPC on this host: its VMs get no metadata", { vpc: t.vpc, netns: t.all });
        this.warned.add(t.vni);
        continue;
      }
      const addr = Bun.spawnSync(["ip", "-n", t.netns, "addr", "replace", "169.254.169.254/32", "dev", "lo"], { stderr: "pipe" });
      if (addr.exitCode !== 0) {
        this.log.warn("cannot add the metadata address", { netns: t.netns, error: addr.stderr.toString().trim() });
        continue;
      }
      Bun.spawnSync(["ip", "-n", t.netns, "link", "set", "lo", "up"]);
      const proc = Bun.spawn(["ip", "netns", "exec", t.netns, ...photonCommand(), "plasmavmc-metadata-proxy", "--listen", "169.254.169.254:80", "--network", t.vpc, "--upstream", this.upstream], { stdout: "pipe", stderr: "pipe" });
      const first = await Promise.race([proc.stdout.getReader().read().then((r) => new TextDecoder().decode(r.value ?? new Uint8Array())), Bun.sleep(5000).then(() => "")]);
      if (!first.includes("listening")) {
        proc.kill(9);
        this.log.warn("metadata proxy did not start", { netns: t.netns });
        continue;
      }
      writeFileSync(join(this.dir, `${t.vni}.pid`), String(proc.pid));
      this.running.set(t.vni, { vpc: t.vpc, netns: t.netns, proc });
      this.log.info("metadata proxy started", { vpc: t.vpc, netns: t.netns, pid: proc.pid });
    }
  }

  /** Ends every proxy. */
  async stop(): Promise<void> {
    await this.sync([]);
  }
}
