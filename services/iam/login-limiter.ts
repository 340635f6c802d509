/**
 * Login protection: a per-source rate limit (token bucket, in each replica's memory) and a
 * lockout after repeated failures for one account name, kept in the store so that every replica
 * honours it. The lockout is keyed by the name as typed (whether or not such a user exists), so
 * it tells an attacker nothing about which names exist; while locked, even the right password is
 * refused.
 */
import { IamErrors } from "./errors.ts";
import type { IamStore } from "./store.ts";

/** Options of LoginLimiter. */
export interface LoginLimiterOptions {
  /** Failures of one name within `windowMs` that lock it. Default 5. */
  maxFailures?: number;
  /** Default 15 minutes. */
  windowMs?: number;
  /** How long a lockout lasts. Default 15 minutes. */
  lockoutMs?: number;
  /** Attempts per minute from one source address. Default 60. */
  perSourcePerMinute?: number;
  now?: () => number;
}

interface LockoutRecord {
  failures: number;
  firstAt: number;
  lockedUntil?: number;
}

/** See the module comment. */
export class LoginLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly lockoutMs: number;
  private readonly perMinute: number;
  private readonly now: () => number;

  constructor(private readonly store: IamStore, options: LoginLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.lockoutMs = options.lockoutMs ?? 15 * 60_000;
    this.perMinute = options.perSourcePerMinute ?? 60;
    this.now = options.now ?? Date.now;
  }

  /**
   * Refuses an attempt before any password work when the source is over its rate or the name is
   * locked.
   * @throws IAM:TooManyAttempts with `details.retryAfterSeconds`.
   */
  async check(name: string, source: string): Promise<void> {
    const now = this.now();
    const b = this.buckets.get(source) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + ((now - b.at) / 60_000) * this.perMinute);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(source, b);
      throw IamErrors.TooManyAttempts(`too many login attempts from ${source}; slow down`, { details: { retryAfterSeconds: Math.ceil((1 - b.tokens) * (60 / this.perMinute)) } });
    }
    b.tokens -= 1;
    this.buckets.set(source, b);
    if (this.buckets.size > 100_000) this.buckets.clear(); // bound memory under a flood of sources
    const rec = await this.store.getRecord<LockoutRecord>("lockout", lockoutId(name));
    if (rec?.value.lockedUntil !== undefined && rec.value.lockedUntil > now) {
      throw IamErrors.TooManyAttempts(`account ${name} is locked after repeated failed logins`, {
        details: { retryAfterSeconds: Math.ceil((rec.value.lockedUntil - now) / 1000) },
      });
    }
  }

  /** Counts a failure; locks the name when it reaches the limit. Returns whether it is now locked. */
  async failure(name: string): Promise<boolean> {
    const id = lockoutId(name);
    for (let i = 0; i < 10; i++) {
      const now = this.now();
      const cur = await this.store.getRecord<LockoutRecord>("lockout", id);
      let rec: LockoutRecord = cur && now - cur.value.firstAt < this.windowMs && !(cur.value.lockedUntil !== undefined && cur.value.lockedUntil <= now)
        ? { ...cur.value, failures: cur.value.failures + 1 }
        : { failures: 1, firstAt: now };
      if (rec.failures >= this.maxFailures) rec = { ...rec, lockedUntil: now + this.lockoutMs };
      if (await this.store.putRecord("lockout", id, rec, cur?.modRevision ?? 0)) return rec.lockedUntil !== undefined;
    }
    return false;
  }

  /** Clears the failures of a name after a successful login. */
  async success(name: string): Promise<void> {
    const cur = await this.store.getRecord<LockoutRecord>("lockout", lockoutId(name));
    if (cur) await this.store.deleteRecord("lockout", lockoutId(name));
  }
}

/** A key-safe id for a login name (names may hold `@` and `.`; org-qualified as `org/name`). */
function lockoutId(name: string): string {
  return Buffer.from(name, "utf8").toString("base64url").slice(0, 400);
}
