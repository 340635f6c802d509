/**
 * `FailureAuditThrottle`: caps the audit records written for failed token checks, which anyone
 * can cause with garbage tokens — one chainfire write each, unthrottled, would let a flood of bad
 * requests fill the audit log and the control-plane store. Per source address at most
 * `perSource` records per window, and at most `total` across all sources; failures beyond are
 * counted, and the next record written for that source says how many were left out, so the log
 * still shows that a flood happened and from where.
 */

/** Options of a `FailureAuditThrottle`. */
export interface FailureAuditThrottleOptions {
  /** Records per source address per window (default 20). */
  perSource?: number;
  /** Records across all sources per window (default 200). */
  total?: number;
  /** The window in ms (default 60 000). */
  windowMs?: number;
  /** Source addresses tracked at once (default 10 000); beyond, new sources share one bucket. */
  maxSources?: number;
}

interface Bucket {
  start: number;
  count: number;
  suppressed: number;
}

/** See the module comment. */
export class FailureAuditThrottle {
  private readonly perSource: number;
  private readonly total: number;
  private readonly windowMs: number;
  private readonly maxSources: number;
  private readonly buckets = new Map<string, Bucket>();
  private all: Bucket = { start: 0, count: 0, suppressed: 0 };

  constructor(options: FailureAuditThrottleOptions = {}) {
    this.perSource = options.perSource ?? 20;
    this.total = options.total ?? 200;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxSources = options.maxSources ?? 10_000;
  }

  /**
   * Whether to write the record of a failure from `source`.
   * @returns undefined to leave it out, or how many failures from this source were left out
   *   before it (to note in the record).
   */
  admit(source: string, now = Date.now()): number | undefined {
    if (now - this.all.start >= this.windowMs) {
      this.all = { start: now, count: 0, suppressed: 0 };
      for (const [k, b] of this.buckets) if (now - b.start >= this.windowMs && b.suppressed === 0) this.buckets.delete(k);
    }
    const key = this.buckets.has(source) || this.buckets.size < this.maxSources ? source : "*";
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { start: now, count: 0, suppressed: 0 }));
    if (now - b.start >= this.windowMs) Object.assign(b, { start: now, count: 0 });
    if (b.count >= this.perSource || this.all.count >= this.total) {
      b.suppressed++;
      this.all.suppressed++;
      return undefined;
    }
    b.count++;
    this.all.count++;
    const left = b.suppressed;
    b.suppressed = 0;
    return left;
  }
}
