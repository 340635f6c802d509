/**
 * The policy feed: what iam streams to the in-process evaluators of other services
 * (`GET /v1/authz/feed`, newline-delimited JSON, one `FeedMessage` per line). The first message is a
 * `snapshot`; then changes in commit order; `ping` every few seconds keeps idle connections alive.
 * After a `reset` the server sends a fresh `snapshot` on the same stream.
 */
import type { ModelChange } from "./model/types.ts";
import type { Jwks } from "./tokens/key-ring.ts";

/** The whole state an evaluator needs. */
export interface FeedSnapshot {
  type: "snapshot";
  /** The iam model revision it reflects. */
  revision: number;
  /** `iss` of the tokens iam issues. */
  issuer: string;
  /** Every entity of the model, as puts. */
  changes: ModelChange[];
  /** Revoked token or session ids, with when the revocation may be forgotten (epoch ms). */
  revoked: { id: string; until: number }[];
  jwks: Jwks;
}

/** A change after the snapshot. */
export type FeedEvent =
  | { type: "model"; revision: number; changes: ModelChange[] }
  | { type: "revoked"; id: string; until: number }
  | { type: "unrevoked"; id: string }
  | { type: "jwks"; jwks: Jwks }
  | { type: "reset" };

/** One line of the feed. */
export type FeedMessage = FeedSnapshot | FeedEvent | { type: "ping" };
