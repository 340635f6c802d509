/**
 * Revocation of access tokens before they expire. Verifiers ask a `RevocationList` synchronously on
 * every verification, so it must be an in-memory set: iam's store will feed it from a chainfire
 * watch on `/photon/iam/revoked/` (revocation reaching every service within a second). An entry
 * is needed only until the token it names would have expired anyway, so the set stays small.
 */

/** Answers "is this token revoked?" for verifiers. */
export interface RevocationList {
  /** Whether the token `jti`, or the session `sid` it belongs to (refresh family), is revoked. */
  isRevoked(jti: string, sid?: string): boolean;
}

/** An in-memory revocation list; entries drop out once the token they name has expired. */
export class MemoryRevocationList implements RevocationList {
  private readonly entries = new Map<string, number>();

  /** Revokes a token id or session id until `expiresAt` (epoch ms; after that the token is dead anyway). */
  revoke(id: string, expiresAt: number): void {
    this.entries.set(id, Math.max(expiresAt, this.entries.get(id) ?? 0));
  }

  /** Forgets a revocation (the watch saw its key deleted). */
  forget(id: string): void {
    this.entries.delete(id);
  }

  /** Drops entries whose tokens have expired; returns how many. */
  prune(now = Date.now()): number {
    let n = 0;
    for (const [id, until] of this.entries) if (until <= now && this.entries.delete(id)) n++;
    return n;
  }

  /** Every entry, as `{ id, until }`. */
  list(): { id: string; until: number }[] {
    return [...this.entries].map(([id, until]) => ({ id, until }));
  }

  /** How many entries are held. */
  get size(): number {
    return this.entries.size;
  }

  isRevoked(jti: string, sid?: string): boolean {
    return this.entries.has(jti) || (sid !== undefined && this.entries.has(sid));
  }
}
