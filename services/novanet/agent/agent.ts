/**
 * `NovanetAgent`: the host agent. It registers the host (name → underlay address) in novanet's
 * state, reads all of `/photon/novanet/` at one revision, computes the host's desired state
 * (host-state.ts) and hands it to the data plane driver, which converges the host to exactly
 * that. It then watches the prefix and does it again right after every change (changes
 * arriving while a pass runs are folded into the next; the data plane applies only what
 * changed), and every `resyncMs` anyway with a full observation of the host, which repairs
 * drift. Because the driver converges from any partial state, a crash or restart at any point is
 * repaired by the next pass. A failed apply is retried with backoff.
 *
 * With `northbound` (the OVN driver, ADR 0021) the agent that is the deployment's northbound
 * writer also converges OVN's northbound database to the whole deployment's state
 * (deployment-state.ts) in the same pass, beside its own host's chassis half — only while it
 * holds the writer's lease when given an `election` (writer-election.ts).
 */
import { existsSync } from "node:fs";
import type { Logger } from "../../../lib/log.ts";
import type { Metrics } from "../../../lib/metrics.ts";
import type { HostNetworkState, VpcDataplane } from "../../../dataplane/vpc-dataplane.ts";
import { keys, NOVANET_PREFIX, type NovanetStore } from "../store.ts";
import { planDeploymentState, type DeploymentOptions } from "./deployment-state.ts";
import { parseSnapshot, planHostState, type HostIdentity } from "./host-state.ts";
import type { WriterElection } from "./writer-election.ts";

/** Options of the agent. */
export interface NovanetAgentOptions {
  store: NovanetStore;
  dataplane: VpcDataplane;
  host: HostIdentity;
  logger: Logger;
  /** Full re-apply period, also when nothing changed (drift repair); default 30 000 ms. */
  resyncMs?: number;
  /**
   * Wait after a change for more to arrive before applying; default 0: the pass starts in a
   * microtask (changes arriving while a pass runs are folded into the next one).
   */
  coalesceMs?: number;
  /** Where to count passes, apply latency, the applied revision and the ports left out. */
  metrics?: Metrics;
  /**
   * The deployment's northbound database (OVN), when this agent may write it: every pass (while
   * it holds the `election`, if given) also applies the whole deployment's state there.
   */
  northbound?: {
    dataplane: VpcDataplane;
    /** Write only while holding the writer's key (several writer agents, one active); the agent starts and stops it. */
    election?: WriterElection;
  } & Omit<DeploymentOptions, "underlayIp">;
  /** Called after every pass (tests and benchmarks). */
  onApplied?: (info: { revision: number; changes: number; state: HostNetworkState }) => void;
}

/** A running agent (see the file comment). */
export class NovanetAgent {
  private stopWatch: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private resync: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private queued = false;
  private force = false;
  private stopped = false;
  private lastState = "";
  private failures = 0;
  /** Revision of the last state applied successfully. */
  appliedRevision = 0;
  private readonly m: {
    passes: ReturnType<Metrics["counter"]>;
    seconds: ReturnType<Metrics["histogram"]>;
    revision: ReturnType<Metrics["gauge"]>;
    ports: ReturnType<Metrics["gauge"]>;
    skipped: ReturnType<Metrics["gauge"]>;
  } | undefined;

  constructor(private readonly options: NovanetAgentOptions) {
    const mt = options.metrics;
    this.m = mt
      ? {
          passes: mt.counter("novanet_agent_applies_total", "Applies of the host's desired state, by result", ["result"]),
          seconds: mt.histogram("novanet_agent_apply_seconds", "Time of one apply of the host's desired state"),
          revision: mt.gauge("novanet_agent_applied_revision", "chainfire revision of the last state applied"),
          ports: mt.gauge("novanet_agent_ports", "Ports plugged on this host"),
          skipped: mt.gauge("novanet_agent_ports_skipped", "Ports bound to this host that could not be plugged"),
        }
      : undefined;
  }

  /** True once a state was applied and the last apply succeeded (readiness). */
  get healthy(): boolean {
    return this.appliedRevision > 0 && this.failures === 0;
  }

  /** Registers the host, applies the current state once, then follows changes. */
  async start(): Promise<void> {
    const { store, host } = this.options;
    await store.transact(async (tx) => {
      tx.put(keys.host(host.name), { name: host.name, underlayIp: host.underlayIp, startedAt: new Date().toISOString() });
    });
    const election = this.options.northbound?.election;
    if (election) {
      // The first campaign is settled before the first pass, which reads `held` itself.
      await election.start();
      election.onChange(() => this.kick(true));
    }
    const rev = await this.pass(true);
    this.follow(rev + 1);
    this.resync = setInterval(() => this.kick(true), this.options.resyncMs ?? 30_000);
  }

  private follow(from: number): void {
    this.stopWatch = this.options.store.watch(NOVANET_PREFIX, from, () => this.kick(false), (e) => {
      if (this.stopped) return;
      this.options.logger.warn("watch ended; re-reading the state", { error: e });
      // Re-read everything and watch again from there (e.g. after a compaction).
      setTimeout(() => {
        if (this.stopped) return;
        this.pass(true).then((rev) => this.follow(rev + 1), () => this.follow(0));
      }, 500);
    });
  }

  /** Schedules a pass (coalescing bursts of changes). */
  private kick(force: boolean): void {
    if (this.stopped) return;
    this.force ||= force;
    if (this.timer || this.queued) return;
    const go = () => {
      this.timer = undefined;
      this.queued = false;
      if (this.running) {
        this.again = true;
        return;
      }
      const f = this.force;
      this.force = false;
      this.running = this.pass(f).then(
        () => undefined,
        () => undefined,
      ).finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick(false);
        }
      });
    };
    const wait = this.options.coalesceMs ?? 0;
    if (wait > 0) this.timer = setTimeout(go, wait);
    else {
      this.queued = true;
      queueMicrotask(go);
    }
  }

  /** Reads, plans and applies once; resolves with the revision read (a failed apply is logged and retried later). */
  private async pass(force: boolean): Promise<number> {
    const { store, dataplane, host, logger } = this.options;
    const snap = await store.snapshot(NOVANET_PREFIX);
    const parsed = parseSnapshot(snap.docs);
    const plan = planHostState(parsed, { netnsExists: (n) => existsSync(`/run/netns/${n}`), ...host });
    for (const s of plan.skipped) logger.warn("port left out", s);
    this.m?.skipped.set(plan.skipped.length);
    this.m?.ports.set(plan.state.vpcs.reduce((n, v) => n + v.ports.length, 0));
    const writer = this.options.northbound;
    const nb = writer && (!writer.election || writer.election.held) ? writer : undefined;
    const deployment = nb
      ? planDeploymentState(parsed, { underlayIp: host.underlayIp, ...(nb.externalNetwork ? { externalNetwork: nb.externalNetwork } : {}), ...(nb.mtu ? { mtu: nb.mtu } : {}) })
      : undefined;
    for (const s of deployment?.skipped ?? []) logger.warn("port left out of the northbound", s);
    const text = JSON.stringify([plan.state, deployment?.state]);
    if (!force && text === this.lastState && this.failures === 0) {
      this.appliedRevision = snap.revision;
      return snap.revision;
    }
    const started = performance.now();
    try {
      // A forced pass (start, resync, retry) observes the whole host; a change applies incrementally.
      // The northbound and this host's half are independent: both converge at once.
      const [r, n] = await Promise.all([dataplane.apply(plan.state, { full: force }), nb?.dataplane.apply(deployment!.state, { full: force })]);
      if (n?.changes) logger.info("northbound applied", { revision: snap.revision, changes: n.changes });
      this.m?.seconds.observe((performance.now() - started) / 1000);
      this.m?.passes.inc({ result: "ok" });
      this.m?.revision.set(snap.revision);
      this.lastState = text;
      this.failures = 0;
      this.appliedRevision = snap.revision;
      if (r.changes) logger.info("applied", { revision: snap.revision, changes: r.changes });
      this.options.onApplied?.({ revision: snap.revision, changes: r.changes, state: plan.state });
    } catch (e) {
      this.m?.passes.inc({ result: "failed" });
      this.failures++;
      logger.error("apply failed; retrying", { revision: snap.revision, attempt: this.failures, error: e });
      if (!this.stopped) setTimeout(() => this.kick(true), Math.min(10_000, 250 * 2 ** Math.min(this.failures, 6)));
    }
    return snap.revision;
  }

  /**
   * Resolves once the agent has applied a state at least as new as `revision` (tests: "the
   * change made at revision R is on the host").
   */
  async waitFor(revision: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.appliedRevision < revision) {
      if (Date.now() > deadline) throw new Error(`agent ${this.options.host.name} did not apply revision ${revision} within ${timeoutMs} ms (at ${this.appliedRevision})`);
      await Bun.sleep(5);
    }
  }

  /** Stops following changes (the host keeps what was applied). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWatch?.();
    if (this.timer) clearTimeout(this.timer);
    if (this.resync) clearInterval(this.resync);
    await this.running;
    await this.options.northbound?.election?.stop();
  }
}
