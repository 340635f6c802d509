/**
 * Which agent writes OVN's northbound database (ADR 0021): every agent configured as a writer
 * campaigns for `/photon/novanet/ovn-nb-writer`, a key created compared-absent and attached to a
 * lease it keeps alive; the holder writes, the others stand by and try again every `retryMs`.
 * When the holder stops, its lease is revoked (the key goes at once); when it dies or loses
 * chainfire, the lease expires after `ttlSeconds` and a standby takes over. A restarted agent
 * whose host still holds the key (its predecessor's lease not yet expired) takes it back at once.
 *
 * The guarantee is the lease's: two writers overlap only if a holder keeps writing after its lease
 * ended without it noticing (the keep-alive reports a loss before the server's TTL runs out on
 * this machine's clock) — and even then both converge to the same state (ADR 0009).
 */
import { Compare, Op, type EtcdClient, type KeepAlive } from "../../../lib/etcd/index.ts";
import type { Logger } from "../../../lib/log.ts";
import { NOVANET_PREFIX } from "../store.ts";

/** The key the northbound writer holds. */
export const WRITER_KEY = `${NOVANET_PREFIX}ovn-nb-writer`;

/** The key's value for `host` (a JSON document: `{"host":"h1"}`). */
export const writerValue = (host: string): string => JSON.stringify({ host });

/** Options of {@link WriterElection}. */
export interface WriterElectionOptions {
  etcd: EtcdClient;
  /** This agent's host name (in the key's value). */
  host: string;
  logger: Logger;
  /** Lease TTL (default 10 s): how long a dead writer blocks the others. */
  ttlSeconds?: number;
  /** How often a standby tries again (default 2000 ms). */
  retryMs?: number;
}

/** A campaign for the writer's key (see the file comment). */
export class WriterElection {
  private keep: KeepAlive | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private campaigning: Promise<void> | undefined;
  private readonly listeners: (() => void)[] = [];
  /** True while this agent holds the key. */
  held = false;

  constructor(private readonly o: WriterElectionOptions) {}

  /** Calls `cb` whenever `held` changes. */
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** Campaigns once now (resolves when that attempt is over) and keeps campaigning until it holds the key. */
  async start(): Promise<void> {
    await (this.campaigning = this.campaign());
  }

  private set(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    this.o.logger.info(held ? "this agent now writes the OVN northbound" : "this agent no longer writes the OVN northbound", { host: this.o.host });
    for (const cb of this.listeners) cb();
  }

  private retry(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.campaigning = this.campaign();
    }, this.o.retryMs ?? 2000);
  }

  private async campaign(): Promise<void> {
    if (this.stopped || this.held) return;
    const { etcd, host } = this.o;
    let lease: bigint | undefined;
    try {
      lease = (await etcd.grant(this.o.ttlSeconds ?? 10)).id;
      // JSON like every document under novanet's prefix (the agents' snapshot parses them all).
      const value = writerValue(host);
      const put = Op.put(WRITER_KEY, value, { lease });
      // Free, or held by this host's predecessor: take it (AND-only compares, so two tries).
      const won =
        (await etcd.txn().if(Compare.createRevision(WRITER_KEY, "=", 0)).then(put).commit()).succeeded ||
        (await etcd.txn().if(Compare.value(WRITER_KEY, "=", value)).then(put).commit()).succeeded;
      if (!won || this.stopped) {
        await etcd.revoke(lease).catch(() => undefined);
        this.retry();
        return;
      }
      const id = lease;
      this.keep = await etcd.keepAlive(id, {
        onLost: (e) => {
          this.o.logger.warn("lost the northbound writer's lease", { error: e });
          this.keep = undefined;
          this.set(false);
          this.retry();
        },
      });
      this.set(true);
    } catch (e) {
      this.o.logger.warn("northbound writer campaign failed; retrying", { error: e });
      if (lease !== undefined && !this.held) await etcd.revoke(lease).catch(() => undefined);
      this.retry();
    }
  }

  /** Stops campaigning; a holder revokes its lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.campaigning;
    const keep = this.keep;
    this.keep = undefined;
    if (keep) {
      keep.stop();
      await this.o.etcd.revoke(keep.id).catch(() => undefined);
    }
    this.set(false);
  }
}
