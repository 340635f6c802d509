/**
 * LocalLog: the single-node log. Proposals arriving in the same event-loop turn form a group:
 * each is applied by the state machine, then the group is written with ONE synced engine write
 * (group commit) and only then acknowledged. Readers never see a write before it is durable,
 * because the store keeps pending writes invisible until that flush.
 */
import { etcdError } from "../errors.ts";
import type { StateMachine } from "../apply/state-machine.ts";
import type { Command } from "../types.ts";
import type { Applied, CommandLog, CommitListener } from "./command-log.ts";

type Pending = { cmd: Command; resolve: (a: Applied) => void; reject: (e: unknown) => void };

/** Options of LocalLog. */
export interface LocalLogOptions {
  /** fsync each group (default true; false only for benchmarks of the apply path). */
  sync?: boolean;
}

/** A one-node CommandLog with group commit. */
export class LocalLog implements CommandLog {
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private readonly listeners: CommitListener[] = [];
  private readonly sync: boolean;

  constructor(
    private readonly machine: StateMachine,
    options: LocalLogOptions = {},
  ) {
    this.sync = options.sync ?? true;
  }

  readonly term = 1;
  readonly isLeader = true;

  propose(cmd: Command): Promise<Applied> {
    if (this.closed) return Promise.reject(etcdError("Stopped"));
    return new Promise((resolve, reject) => {
      this.queue.push({ cmd, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.drain());
      }
    });
  }

  private drain(): void {
    this.scheduled = false;
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    const store = this.machine.store;
    const from = store.currentRevision + 1;
    const outcomes: ({ ok: true; applied: Applied } | { ok: false; error: unknown })[] = [];
    for (const p of group) {
      try {
        outcomes.push({ ok: true, applied: this.machine.apply(p.cmd) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    try {
      store.flush(this.sync);
    } catch (error) {
      // Nothing of the group is durable: fail every proposal of it.
      for (const p of group) p.reject(error);
      return;
    }
    const to = store.currentRevision;
    if (to >= from) for (const l of this.listeners) l(from, to);
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.applied);
      else p.reject(o.error);
    });
  }

  async readBarrier(): Promise<void> {
    // Acknowledged writes are flushed before acknowledgement: nothing to wait for.
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const rest = this.queue;
    this.queue = [];
    for (const p of rest) p.reject(etcdError("Stopped"));
  }
}
