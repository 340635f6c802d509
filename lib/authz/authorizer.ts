/**
 * `Authorizer`: the object a service holds. It owns the current `AuthzIndex` and swaps in a new
 * one when the snapshot changes (iam's store feeds it from chainfire watches); a decision always
 * sees one whole snapshot, never a half-applied change.
 */
import { authorize } from "./authorize.ts";
import { AuthzIndex } from "./authz-index.ts";
import type { AuthorizeRequest, AuthzSnapshot, Decision } from "./types.ts";

/** The in-process evaluator every service uses. */
export class Authorizer {
  private index: AuthzIndex;

  /**
   * @throws IAM:InvalidSnapshot (and IAM:InvalidAction / IAM:InvalidCondition) when `snapshot` is
   *   inconsistent; see `AuthzIndex`.
   */
  constructor(snapshot: AuthzSnapshot) {
    this.index = new AuthzIndex(snapshot);
  }

  /** The revision of the snapshot decisions are made against. */
  get revision(): number {
    return this.index.revision;
  }

  /**
   * Replaces the snapshot. The new index is built first; if building throws, the old one stays
   * in use and the error propagates.
   */
  update(snapshot: AuthzSnapshot): void {
    this.index = new AuthzIndex(snapshot);
  }

  /**
   * Decides one request; see `authorize` in authorize.ts. Never throws.
   * @example
   * const authz = new Authorizer(model.snapshot());
   * const d = authz.authorize({ principal, action: "compute:vm:start", resource: { org, project, type: "vm", id } });
   * if (!d.allowed) throw CommonErrors.PermissionDenied(d.reason);
   */
  authorize(req: AuthorizeRequest): Decision {
    return authorize(this.index, req);
  }

  /**
   * Applies new principals and binding changes without a rebuild (see AuthzIndex.applyChanges).
   * Any other kind of change needs `update` with a whole snapshot.
   * @returns false when a change failed its checks: the index may be half-changed, so call
   *   `update` before the next decision.
   */
  applyChanges(changes: Parameters<AuthzIndex["applyChanges"]>[0], revision: number): boolean {
    try {
      this.index.applyChanges(changes, revision);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether `id` is a known (enabled) user or service account. */
  hasPrincipal(id: string): boolean {
    return this.index.hasPrincipal(id);
  }

  /** The groups containing `principal` (directly or nested), for tokens and audit. */
  groupsOf(principal: string): readonly string[] {
    return this.index.groupsOf(principal);
  }
}
