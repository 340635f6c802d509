/**
 * Actions are `<service>:<resource>:<verb>` (`compute:vm:get`). A pattern may replace any whole
 * segment with `*` (`compute:*:get`, `*:*:list`), and `*` alone means `*:*:*`. Segments are
 * lowercase: a letter, then letters, digits or `-`, at most 63 characters. Partial wildcards
 * (`vm*`) are not supported, so a pattern set is matched by at most eight hash lookups, and an
 * `ActionSet` memoises its answers so a repeated action costs one.
 */
import { AuthzErrors } from "./errors.ts";

const SEGMENT = /^[a-z][a-z0-9-]{0,62}$/;
const MEMO_LIMIT = 8192;

/** Splits a concrete action into its segments, or returns undefined when it is malformed. */
export function splitAction(action: string): [string, string, string] | undefined {
  if (typeof action !== "string" || action.length > 191) return undefined;
  const parts = action.split(":");
  if (parts.length !== 3) return undefined;
  const [s, r, v] = parts as [string, string, string];
  return SEGMENT.test(s) && SEGMENT.test(r) && SEGMENT.test(v) ? [s, r, v] : undefined;
}

/**
 * Validates a concrete action (no wildcards).
 * @throws IAM:InvalidAction naming the action and what is wrong.
 */
export function parseAction(action: string): [string, string, string] {
  const parts = splitAction(action);
  if (!parts) {
    throw AuthzErrors.InvalidAction(
      `invalid action ${JSON.stringify(action)}: expected <service>:<resource>:<verb>, each a lowercase name`,
      { details: { action } },
    );
  }
  return parts;
}

/**
 * Validates an action pattern and returns its normal form (`*` becomes `*:*:*`).
 * @throws IAM:InvalidAction naming the pattern.
 */
export function normaliseActionPattern(pattern: string): string {
  if (pattern === "*") return "*:*:*";
  const parts = typeof pattern === "string" && pattern.length <= 191 ? pattern.split(":") : [];
  if (parts.length === 3 && parts.every((p) => p === "*" || SEGMENT.test(p))) return parts.join(":");
  throw AuthzErrors.InvalidAction(
    `invalid action pattern ${JSON.stringify(pattern)}: expected <service>:<resource>:<verb> where a whole segment may be *`,
    { details: { action: pattern } },
  );
}

/** Whether `pattern` (normalised) matches the concrete `action`. */
export function actionMatches(pattern: string, action: string): boolean {
  return compileActionSet([pattern]).has(action);
}

/** A compiled set of action patterns. */
export interface ActionSet {
  /** Whether any pattern of the set matches the concrete `action`; false for a malformed action. */
  has(action: string): boolean;
  /** The normalised patterns, for display. */
  readonly patterns: readonly string[];
}

/**
 * Compiles patterns into a set answering `has(action)` in at most eight hash lookups (one once
 * memoised; the memo is bounded).
 * @throws IAM:InvalidAction on the first malformed pattern (nothing is compiled).
 */
export function compileActionSet(patterns: readonly string[]): ActionSet {
  const normal = [...new Set(patterns.map(normaliseActionPattern))];
  const set = new Set(normal);
  // Which of the 8 wildcard shapes occur (bit 4: service is *, 2: resource, 1: verb).
  let shapes = 0;
  for (const p of normal) {
    const [s, r, v] = p.split(":");
    shapes |= 1 << ((s === "*" ? 4 : 0) | (r === "*" ? 2 : 0) | (v === "*" ? 1 : 0));
  }
  const memo = new Map<string, boolean>();
  const compute = (action: string): boolean => {
    if (shapes === 0) return false;
    const parts = splitAction(action);
    if (!parts) return false;
    const [s, r, v] = parts;
    for (let shape = 0; shape < 8; shape++) {
      if ((shapes & (1 << shape)) === 0) continue;
      const key = `${shape & 4 ? "*" : s}:${shape & 2 ? "*" : r}:${shape & 1 ? "*" : v}`;
      if (set.has(key)) return true;
    }
    return false;
  };
  return {
    patterns: normal,
    has(action: string): boolean {
      const hit = memo.get(action);
      if (hit !== undefined) return hit;
      const result = compute(action);
      if (memo.size < MEMO_LIMIT) memo.set(action, result);
      return result;
    },
  };
}

/** `actions` minus `notActions`: what a role allows. */
export function compileRoleActions(actions: readonly string[], notActions: readonly string[] = []): ActionSet {
  const allow = compileActionSet(actions);
  const except = compileActionSet(notActions);
  const memo = new Map<string, boolean>();
  return {
    patterns: allow.patterns,
    has(action: string): boolean {
      const hit = memo.get(action);
      if (hit !== undefined) return hit;
      const result = allow.has(action) && !except.has(action);
      if (memo.size < MEMO_LIMIT) memo.set(action, result);
      return result;
    },
  };
}
