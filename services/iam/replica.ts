/**
 * `IamReplica`: what one iam process holds in memory, kept equal to the store: the model, the
 * `Authorizer` built from it, the revocation list, and the signing key ring with the token issuer
 * and verifier. It loads everything at start and follows the store's watch, so a change made
 * through any replica reaches this one's decisions, revocations and JWKS within a second.
 *
 * Model writes go through `mutate`: the request is planned and applied on the local model, the
 * recorded changes are committed in one transaction compared on the model head; when another
 * replica moved the head first, the model is reloaded and the request planned again (so it is
 * validated against the latest state, and nothing is lost).
 */
import { Authorizer } from "../../lib/authz/authorizer.ts";
import type { Logger } from "../../lib/log.ts";
import { IamErrors } from "./errors.ts";
import { IamModel } from "./model/model.ts";
import { incrementalChanges } from "./model/snapshot.ts";
import type { ModelChange } from "./model/types.ts";
import type { IamStore, RecordWrite, SealedKeyRing, StoreEvent, Versioned } from "./store.ts";
import { AccessTokenIssuer, AccessTokenVerifier, MAX_TOKEN_TTL_S } from "./tokens/access-token.ts";
import type { SecretCipher } from "./tokens/access-key.ts";
import { SigningKeyRing, type ExportedKeyRing } from "./tokens/key-ring.ts";
import { MemoryRevocationList } from "./tokens/revocation.ts";
import type { FeedEvent, FeedSnapshot } from "./feed-types.ts";

/** The associated data signing keys are sealed under. */
const KEYS_CONTEXT = "iam-signing-keys";

/** Options of IamReplica.open. */
export interface IamReplicaOptions {
  store: IamStore;
  cipher: SecretCipher;
  /** `iss` of tokens this replica issues and accepts. */
  issuer: string;
  logger: Logger;
  /** Rotate the signing key once it is this old (ms). Default 7 days. */
  keyRotationMs?: number;
  /** How often to check rotation and prune revocations (ms). Default 60 s. */
  housekeepingMs?: number;
}

/** See the module comment. */
export class IamReplica {
  model = new IamModel({ recordChanges: true });
  readonly authorizer: Authorizer;
  readonly revocations = new MemoryRevocationList();
  readonly verifier: AccessTokenVerifier;
  private tokenIssuer!: AccessTokenIssuer;
  private ring!: SigningKeyRing;
  private ringRecord!: Versioned<SealedKeyRing>;
  private applied = 0;
  private head = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private stopWatch: () => void = () => {};
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly waiters: { revision: number; resolve: () => void }[] = [];
  private readonly feed = new Set<(e: FeedEvent) => void>();

  private constructor(private readonly options: IamReplicaOptions) {
    this.authorizer = new Authorizer(this.model.snapshot());
    this.verifier = new AccessTokenVerifier({ jwks: { keys: [] }, issuer: options.issuer, revocations: this.revocations });
  }

  /** Signs access tokens with the current key (replaced when the ring changes). */
  get issuer(): AccessTokenIssuer {
    return this.tokenIssuer;
  }

  /**
   * Loads the model, revocations and signing keys (creating the key ring on the very first
   * start) and starts following the store.
   * @throws the store's errors; IAM:InvalidArgument when the stored keys do not open with this KEK.
   */
  static async open(options: IamReplicaOptions): Promise<IamReplica> {
    const r = new IamReplica(options);
    await r.loadKeys();
    await r.reload();
    await r.loadRevocations();
    r.stopWatch = options.store.watch(r.applied, (events) => r.onEvents(events), (e) => r.onWatchError(e));
    const every = options.housekeepingMs ?? 60_000;
    r.timer = setInterval(() => void r.housekeeping().catch((e) => options.logger.warn("iam housekeeping failed", { error: e })), every);
    r.timer.unref?.();
    return r;
  }

  /** Reads every stored revocation (the value repeats the id its key holds, for this listing). */
  private async loadRevocations(): Promise<void> {
    for (const r of await this.options.store.listRecords<{ id: string; until: number }>("revoked")) {
      if (typeof r.value.id === "string" && typeof r.value.until === "number") this.revocations.revoke(r.value.id, r.value.until);
    }
  }

  /** The store revision the model reflects. */
  get revision(): number {
    return this.applied;
  }

  /** The public JWKS. */
  jwks() {
    return this.ring.jwks();
  }

  /** Resolves once the model reflects `revision` (or after `timeoutMs`). */
  waitFor(revision: number, timeoutMs = 2_000): Promise<void> {
    if (this.applied >= revision) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { revision, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      }, timeoutMs).unref?.();
    });
  }

  /**
   * Plans `fn` on the model and commits its changes (and `records(value)`) atomically.
   * Serialised within the process; retried against a reloaded model when another replica wrote
   * first.
   * @throws whatever `fn` throws (nothing is written), the store's errors, or IAM:Conflict
   *   after repeated conflicts.
   */
  mutate<T>(fn: (m: IamModel) => T, records: (value: T) => RecordWrite[] = () => []): Promise<T> {
    const run = this.lock.then(() => this.mutateNow(fn, records));
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async mutateNow<T>(fn: (m: IamModel) => T, records: (value: T) => RecordWrite[]): Promise<T> {
    for (let attempt = 0; attempt < 8; attempt++) {
      this.model.takeChanges(); // drop what watch replays recorded
      let value: T;
      try {
        value = fn(this.model);
      } catch (e) {
        // A request of several steps may fail after applying some: undo them by reloading.
        if (this.model.takeChanges().length > 0) await this.reload();
        throw e;
      }
      const changes: ModelChange[] = this.model.takeChanges();
      const rev = await this.options.store.commitModel(changes, this.head, records(value));
      if (rev !== undefined) {
        this.head = rev;
        this.applied = Math.max(this.applied, rev);
        this.refresh(changes);
        this.publish({ type: "model", revision: rev, changes });
        return value;
      }
      await this.reload(); // another writer moved the head: plan again on the latest model
    }
    throw IamErrors.Conflict("iam is too busy: concurrent changes kept conflicting; retry");
  }

  /** Reloads the whole model from the store. */
  private async reload(): Promise<void> {
    const loaded = await this.options.store.loadModel();
    const m = new IamModel({ recordChanges: true });
    m.apply(loaded.changes);
    m.takeChanges();
    this.model = m;
    this.applied = loaded.revision;
    this.head = loaded.head;
    this.rebuild();
    this.publish({ type: "reset" });
  }

  /** Brings the evaluator to the model after `changes`: in place when it can, else rebuilt whole. */
  private refresh(changes: readonly ModelChange[]): void {
    const inc = incrementalChanges(changes, this.model, (p) => this.authorizer.hasPrincipal(p));
    if (inc && this.authorizer.applyChanges(inc, this.applied)) this.wake();
    else this.rebuild();
  }

  private rebuild(): void {
    try {
      this.authorizer.update(this.model.snapshot(this.applied));
    } catch (e) {
      this.options.logger.error("iam model does not make a valid snapshot; keeping the previous one", { error: e });
    }
    this.wake();
  }

  /** Resolves the `waitFor` callers whose revision is now reflected. */
  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.revision <= this.applied) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }

  private onEvents(events: StoreEvent[]): void {
    const changed: ModelChange[] = [];
    for (const e of events) {
      switch (e.type) {
        case "model":
          if (e.revision <= this.applied) break; // already applied (our own commit, or loaded)
          this.model.apply(e.changes);
          this.applied = e.revision;
          if (e.head) this.head = e.head;
          changed.push(...e.changes);
          this.publish({ type: "model", revision: e.revision, changes: e.changes });
          break;
        case "revoked":
          this.revocations.revoke(e.id, e.until);
          this.publish({ type: "revoked", id: e.id, until: e.until });
          break;
        case "unrevoked":
          this.revocations.forget(e.id);
          this.publish({ type: "unrevoked", id: e.id });
          break;
        case "keys":
          if (e.record.modRevision > this.ringRecord.modRevision) void this.useKeys(e.record).catch((err) => this.options.logger.error("cannot open signing keys from the store", { error: err }));
          break;
      }
    }
    if (changed.length > 0) this.refresh(changed);
  }

  private onWatchError(e: unknown): void {
    if (this.closed) return;
    this.options.logger.warn("iam watch failed; reloading", { error: e });
    void (async () => {
      for (let delay = 200; !this.closed; delay = Math.min(delay * 2, 5_000)) {
        try {
          await this.reload();
          await this.loadKeys();
          await this.loadRevocations();
          this.stopWatch = this.options.store.watch(this.applied, (events) => this.onEvents(events), (err) => this.onWatchError(err));
          return;
        } catch (err) {
          this.options.logger.warn("iam reload failed", { error: err });
          await Bun.sleep(delay);
        }
      }
    })();
  }

  // ---- signing keys -------------------------------------------------------------------------

  private async loadKeys(): Promise<void> {
    const { store, cipher } = this.options;
    for (;;) {
      const cur = await store.getKeyRing();
      if (cur) return this.useKeys(cur);
      const ring = await SigningKeyRing.generate();
      const record: SealedKeyRing = { sealed: cipher.seal(JSON.stringify(await ring.exportPrivate()), KEYS_CONTEXT), rotatedAt: Date.now() };
      if (await store.putKeyRing(record, 0)) this.options.logger.info("created the token signing key ring", { kid: ring.current().kid });
    }
  }

  private async useKeys(record: Versioned<SealedKeyRing>): Promise<void> {
    const data = JSON.parse(this.options.cipher.open(record.value.sealed, KEYS_CONTEXT)) as ExportedKeyRing;
    const ring = await SigningKeyRing.import(data);
    if (this.ringRecord && record.modRevision < this.ringRecord.modRevision) return;
    this.ring = ring;
    this.ringRecord = record;
    this.tokenIssuer = new AccessTokenIssuer({ ring, issuer: this.options.issuer });
    this.verifier.setJwks(ring.jwks());
    this.publish({ type: "jwks", jwks: ring.jwks() });
  }

  /**
   * Makes a new current signing key (the previous stays published until no token of it can be
   * valid) and retires keys demoted longer ago than the longest token lifetime. One replica wins
   * a concurrent rotation; the others pick its result up from the watch.
   * @returns the current key id after the rotation.
   */
  async rotateKeys(now = Date.now()): Promise<string> {
    for (let i = 0; i < 5; i++) {
      const cur = (await this.options.store.getKeyRing())!;
      const ring = await SigningKeyRing.import(JSON.parse(this.options.cipher.open(cur.value.sealed, KEYS_CONTEXT)) as ExportedKeyRing);
      await ring.rotate(now);
      ring.retireExpired(MAX_TOKEN_TTL_S * 1000 + 60_000, now);
      const record: SealedKeyRing = { sealed: this.options.cipher.seal(JSON.stringify(await ring.exportPrivate()), KEYS_CONTEXT), rotatedAt: now };
      if (await this.options.store.putKeyRing(record, cur.modRevision)) {
        const fresh = await this.options.store.getKeyRing();
        if (fresh) await this.useKeys(fresh);
        this.options.logger.info("rotated the token signing key", { kid: ring.current().kid });
        return ring.current().kid;
      }
    }
    throw IamErrors.Conflict("signing key rotation kept conflicting with another replica; retry");
  }

  private async housekeeping(): Promise<void> {
    const now = Date.now();
    const rotation = this.options.keyRotationMs ?? 7 * 24 * 3600_000;
    if (now - this.ringRecord.value.rotatedAt > rotation) await this.rotateKeys(now);
    this.revocations.prune(now);
    for (const r of await this.options.store.listRecords<{ id: string; until: number }>("revoked")) {
      if (r.value.until <= now) await this.options.store.deleteRecord("revoked", r.value.id);
    }
    // Spent or expired refresh tokens: a spent one is kept until it expires (reuse detection).
    for (const r of await this.options.store.listRecords<{ id: string; expiresAt: number }>("refresh")) {
      if (r.value.expiresAt <= now) await this.options.store.deleteRecord("refresh", r.value.id);
    }
  }

  /**
   * Revokes an access token id or a session id everywhere until `until` (epoch ms): written to
   * the store, applied here at once and on other replicas through their watch.
   */
  async revoke(id: string, until: number): Promise<void> {
    await this.options.store.putRecord("revoked", id, { id, until });
    this.revocations.revoke(id, until);
    this.publish({ type: "revoked", id, until });
  }

  // ---- the policy feed (services' in-process evaluators) --------------------------------------

  /**
   * Everything a service's evaluator needs, as of now: the model as puts, the revocations, the
   * JWKS and the issuer. Take it right after `subscribe`, in the same turn, so no event is missed.
   */
  feedSnapshot(): FeedSnapshot {
    const changes: ModelChange[] = [];
    for (const kind of ["org", "project", "user", "serviceaccount", "group", "role", "binding", "deny"] as const) {
      for (const entity of this.model.list(kind)) changes.push({ op: "put", entity });
    }
    return { type: "snapshot", revision: this.applied, issuer: this.options.issuer, changes, revoked: this.revocations.list(), jwks: this.ring.jwks() };
  }

  /**
   * Calls `listener` with every later change of the model, the revocations and the JWKS; a
   * `reset` means the model was reloaded whole (send a new snapshot). Returns the unsubscriber.
   */
  subscribe(listener: (e: FeedEvent) => void): () => void {
    this.feed.add(listener);
    return () => this.feed.delete(listener);
  }

  private publish(e: FeedEvent): void {
    for (const l of this.feed) {
      try {
        l(e);
      } catch (err) {
        this.options.logger.warn("an iam feed listener failed", { error: err });
      }
    }
  }

  /** Stops following the store. */
  close(): void {
    this.closed = true;
    this.stopWatch();
    if (this.timer) clearInterval(this.timer);
  }
}
