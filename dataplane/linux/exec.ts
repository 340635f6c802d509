/**
 * Runs iproute2, nft and helpers, optionally inside a target network namespace (the "host"
 * namespace in tests; unset = the namespace the process runs in). Changes go through batches
 * (`ip -batch -`, `bridge -batch -`, `nft -f -`) so one process carries many changes.
 */
import { DataplaneErrors } from "../errors.ts";

/** Result of one command. */
export interface RunOutput {
  stdout: string;
  stderr: string;
  code: number;
}

/** Spawns commands; counts them (the cost of an apply is mostly process starts). */
export class CommandRunner {
  /** Processes started so far. */
  spawned = 0;
  /** When set, every process run is appended here with its wall time (profiling, benchmarks). */
  trace: { cmd: string; ms: number }[] | undefined;

  /** @param hostNetns network namespace the driver manages; undefined = the current one. */
  constructor(readonly hostNetns?: string) {}

  /** Runs `argv` with optional stdin; resolves even on failure. */
  async raw(argv: string[], input?: string): Promise<RunOutput> {
    this.spawned++;
    const t0 = this.trace ? performance.now() : 0;
    const proc = Bun.spawn({
      cmd: argv,
      stdin: input === undefined ? "ignore" : new Blob([input]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    this.trace?.push({ cmd: argv.filter((a) => !a.startsWith("-")).slice(0, 4).join(" "), ms: performance.now() - t0 });
    return { stdout, stderr, code };
  }

  /**
   * Runs `argv`; throws on a non-zero exit.
   * @throws PhotonError `DATAPLANE:CommandFailed` with the command, exit code and stderr.
   */
  async run(argv: string[], input?: string): Promise<string> {
    const out = await this.raw(argv, input);
    if (out.code !== 0) {
      throw DataplaneErrors.CommandFailed(`${argv.join(" ")}: ${out.stderr.trim() || `exit ${out.code}`}`, {
        details: { command: argv, code: out.code, stderr: out.stderr.slice(0, 4000), input: input?.slice(0, 4000) },
      });
    }
    return out.stdout;
  }

  /**
   * argv prefix that runs a program inside `ns` (undefined = the host namespace). `nsenter` only
   * joins the network namespace (cheaper than `ip netns exec`, which also remounts /sys); what
   * runs this way (nft, sysctl writes under /proc/sys/net) needs nothing more.
   */
  inNs(ns: string | undefined, argv: string[]): string[] {
    const target = ns ?? this.hostNetns;
    return target === undefined ? argv : ["nsenter", `--net=/run/netns/${target}`, ...argv];
  }

  /** `ip [-n ns] args...` (ns undefined = the host namespace). */
  ipArgs(ns: string | undefined, args: string[]): string[] {
    const target = ns ?? this.hostNetns;
    return target === undefined ? ["ip", ...args] : ["ip", "-n", target, ...args];
  }

  /** `ip -json ...` parsed. */
  async ipJson<T>(ns: string | undefined, args: string[]): Promise<T[]> {
    const out = await this.run(this.ipArgs(ns, ["-json", ...args]));
    const t = out.trim();
    return t === "" ? [] : (JSON.parse(t) as T[]);
  }

  /** Runs ip batch lines in `ns`; a no-op for an empty batch. */
  async ipBatch(ns: string | undefined, lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    await this.run(this.ipArgs(ns, ["-batch", "-"]), lines.join("\n") + "\n");
  }

  /** Runs `bridge -batch -` in the host namespace. */
  async bridgeBatch(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const ns = this.hostNetns;
    await this.run(ns === undefined ? ["bridge", "-batch", "-"] : ["bridge", "-n", ns, "-batch", "-"], lines.join("\n") + "\n");
  }

  /** `bridge -json args` in the host namespace, parsed. */
  async bridgeJson<T>(args: string[]): Promise<T[]> {
    const ns = this.hostNetns;
    const out = await this.run(ns === undefined ? ["bridge", "-json", ...args] : ["bridge", "-n", ns, "-json", ...args]);
    const t = out.trim();
    return t === "" ? [] : (JSON.parse(t) as T[]);
  }

  /** Loads an nft script (`nft -f -`) inside `ns` (undefined = host). */
  async nftLoad(ns: string | undefined, script: string): Promise<void> {
    await this.run(this.inNs(ns, ["nft", "-f", "-"]), script);
  }

  /** `nft -j list ruleset` inside `ns`, as the array under `nftables`. */
  async nftRuleset(ns: string | undefined): Promise<Record<string, unknown>[]> {
    const out = await this.run(this.inNs(ns, ["nft", "-j", "list", "ruleset"]));
    return (JSON.parse(out) as { nftables: Record<string, unknown>[] }).nftables;
  }
}
