/**
 * Keeps one lease alive over one LeaseKeepAlive stream, re-opened (on the next endpoint) when it
 * breaks, and tells the owner when the lease is lost.
 *
 * Contract:
 * - A renewal is sent every TTL/3; a lease renewed at time t (the send time of the request
 *   whose answer came back) is assumed to live until t + TTL on this machine's clock.
 * - The lease is lost when the server answers TTL 0 (expired or revoked: `ETCD:LeaseNotFound`),
 *   or when no renewal succeeded before that deadline (`ETCD:LeaseExpired`: the server has
 *   probably expired it; the owner must act as if it had). Either way `lost` resolves once, the
 *   `onLost` callback runs once, and keeping alive stops.
 * - `stop()` stops renewing without revoking (the lease then expires after its TTL) and
 *   resolves nothing.
 */
import type { PhotonError } from "../errors.ts";
import type { ClientDuplex } from "../grpc/index.ts";
import { bigintToWire, int64ToNumber, type WireInt64 } from "./bytes.ts";
import type { Connection } from "./connection.ts";
import { EtcdErrors, toEtcdError } from "./errors.ts";
import { leaseService } from "./rpc.ts";

/** Options of `EtcdClient.keepAlive`. */
export interface KeepAliveOptions {
  /** Called once when the lease is lost (see the module comment). */
  onLost?: (error: PhotonError) => void;
}

type Req = { ID: unknown };
type Res = { ID?: WireInt64; TTL?: WireInt64 };

const MIN_INTERVAL_MS = 250;
const MAX_BACKOFF_MS = 1000;

/** See the module comment; create one with `EtcdClient.keepAlive`. */
export class KeepAlive {
  /** Resolves with the reason when the lease is lost; never rejects, pending while alive. */
  readonly lost: Promise<PhotonError>;
  private resolveLost!: (e: PhotonError) => void;
  private ttlSeconds = 0;
  private deadline = 0;
  private stopped = false;
  private call: ClientDuplex<Req, Res> | null = null;
  private sendTimer: ReturnType<typeof setInterval> | undefined;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private firstAnswer: { resolve: () => void; reject: (e: PhotonError) => void } | null = null;
  /** Send times of requests not yet answered, oldest first. */
  private readonly sent: number[] = [];
  private readonly wireId: unknown;

  /** Use `EtcdClient.keepAlive`. */
  constructor(
    private readonly conn: Connection,
    /** The lease kept alive. */
    readonly id: bigint,
    private readonly options: KeepAliveOptions = {},
    private readonly onEnd: (k: KeepAlive) => void = () => {},
  ) {
    this.wireId = bigintToWire(id);
    this.lost = new Promise((resolve) => {
      this.resolveLost = resolve;
    });
  }

  /** TTL of the last renewal, in seconds. */
  get ttl(): number {
    return this.ttlSeconds;
  }

  /** Local time (ms) until which the lease is known to live. */
  get aliveUntil(): number {
    return this.deadline;
  }

  /** True until it is lost or stopped. */
  get active(): boolean {
    return !this.stopped;
  }

  /**
   * Starts keeping alive; resolves after the first renewal, rejects with `ETCD:LeaseNotFound`
   * when the lease does not exist, or the stream's error when the first renewal fails.
   */
  start(): Promise<void> {
    const first = new Promise<void>((resolve, reject) => {
      this.firstAnswer = { resolve, reject };
    });
    void this.run();
    return first;
  }

  /** Stops renewing (does not revoke the lease). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    this.call?.cancel();
    this.call = null;
    this.firstAnswer?.reject(EtcdErrors.Cancelled("keep-alive stopped"));
    this.firstAnswer = null;
    this.onEnd(this);
  }

  private async run(): Promise<void> {
    let backoff = 100;
    let firstFailures = 0;
    while (!this.stopped) {
      let index = -1;
      try {
        const opened = this.conn.bidi<Req, Res>(leaseService.methods.LeaseKeepAlive);
        index = opened.index;
        const call = opened.call;
        this.call = call;
        this.sent.length = 0;
        this.send();
        this.armSender();
        for await (const res of call) {
          if (this.stopped) return;
          this.onAnswer(res);
          backoff = 100;
        }
        if (!this.stopped) throw EtcdErrors.Unavailable("the server ended the keep-alive stream");
      } catch (e) {
        if (this.stopped) return;
        const err = toEtcdError(e);
        if (index >= 0 && err.code === "ETCD:Unavailable") this.conn.failed(index);
        if (this.firstAnswer && !(err.code === "ETCD:Unavailable" && ++firstFailures < this.conn.endpoints.length)) {
          this.firstAnswer.reject(err);
          this.firstAnswer = null;
          this.stopped = true;
          this.clearTimers();
          this.onEnd(this);
          return;
        }
        if (this.conn.isClosed) return this.stop();
      } finally {
        if (this.sendTimer !== undefined) clearInterval(this.sendTimer);
        this.sendTimer = undefined;
        this.call = null;
      }
      await Bun.sleep(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  private send(): void {
    const call = this.call;
    if (!call || this.stopped) return;
    this.sent.push(Date.now());
    void call.write({ ID: this.wireId });
  }

  private armSender(): void {
    if (this.sendTimer !== undefined) clearInterval(this.sendTimer);
    const every = Math.max(MIN_INTERVAL_MS, (this.ttlSeconds * 1000) / 3 || 500);
    this.sendTimer = setInterval(() => this.send(), every);
  }

  private onAnswer(res: Res): void {
    const sentAt = this.sent.shift() ?? Date.now();
    const ttl = int64ToNumber(res.TTL);
    if (ttl <= 0) {
      const err = EtcdErrors.LeaseNotFound(`lease ${this.id} expired or was revoked`, { details: { lease: this.id.toString() } });
      if (this.firstAnswer) {
        this.firstAnswer.reject(err);
        this.firstAnswer = null;
        this.stopped = true;
        this.clearTimers();
        this.call?.cancel();
        this.onEnd(this);
      } else {
        this.lose(err);
      }
      return;
    }
    const ttlChanged = ttl !== this.ttlSeconds;
    this.ttlSeconds = ttl;
    this.deadline = Math.max(this.deadline, sentAt + ttl * 1000);
    if (ttlChanged) this.armSender();
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.checkDeadline(), Math.max(0, this.deadline - Date.now()));
    if (this.firstAnswer) {
      this.firstAnswer.resolve();
      this.firstAnswer = null;
    }
  }

  private checkDeadline(): void {
    this.deadlineTimer = undefined;
    if (this.stopped) return;
    if (Date.now() >= this.deadline) {
      this.lose(EtcdErrors.LeaseExpired(`lease ${this.id} was not renewed within its TTL of ${this.ttlSeconds} s`, { details: { lease: this.id.toString() } }));
    } else {
      this.deadlineTimer = setTimeout(() => this.checkDeadline(), this.deadline - Date.now());
    }
  }

  private lose(err: PhotonError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    this.call?.cancel();
    this.call = null;
    this.resolveLost(err);
    try {
      this.options.onLost?.(err);
    } finally {
      this.onEnd(this);
    }
  }

  private clearTimers(): void {
    if (this.sendTimer !== undefined) clearInterval(this.sendTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.sendTimer = undefined;
    this.deadlineTimer = undefined;
  }
}
