/**
 * One authorisation decision against an `AuthzIndex`. Order: the request must be well formed and
 * its principal and resource known; the credential's session limits (project scope, access
 * rules) must allow it; then any matching deny on the resource's scope chain denies; then the
 * first matching binding allows; otherwise nothing grants it. Never throws: a bad request is a
 * denial with a reason.
 *
 * Speed: the principal's view and its flattened chain view are cached in the index, and decisions
 * that no condition took part in are memoised per (principal, scope chain, action), so a repeated
 * question costs about four hash lookups. Decisions a condition took part in are computed every
 * time (they depend on the request's address, time or tags).
 */
import { compileActionSet, splitAction, type ActionSet } from "./action.ts";
import type { AuthzIndex, ChainView } from "./authz-index.ts";
import { EvalContext } from "./condition.ts";
import type { AuthorizeRequest, Decision, SessionLimits } from "./types.ts";

const RULES_CACHE_LIMIT = 4096;
const rulesByKey = new Map<string, ActionSet | null>();
const rulesByList = new WeakMap<readonly string[], ActionSet | null>();

function deny(reason: string): Decision {
  return { allowed: false, reason };
}

/** The compiled access rules of a session; cached by list identity, then by content. */
function accessRules(rules: readonly string[]): ActionSet | null {
  let set = rulesByList.get(rules);
  if (set !== undefined) return set;
  const key = rules.join("\n");
  set = rulesByKey.get(key);
  if (set === undefined) {
    try {
      set = compileActionSet(rules);
    } catch {
      set = null; // malformed rules allow nothing
    }
    if (rulesByKey.size >= RULES_CACHE_LIMIT) rulesByKey.clear();
    rulesByKey.set(key, set);
  }
  rulesByList.set(rules, set);
  return set;
}

function checkSession(session: SessionLimits, projects: ReadonlySet<string>, where: string, action: string): Decision | undefined {
  if (session.project !== undefined && !projects.has(session.project)) {
    return deny(`the token is scoped to project ${session.project}, not ${where}`);
  }
  if (session.accessRules !== undefined && !accessRules(session.accessRules)?.has(action)) {
    return deny(`the credential's access rules do not allow ${action}`);
  }
  return undefined;
}

/** Evaluates the chain view for one request; memoises when no condition was involved. */
function evaluate(index: AuthzIndex, cv: ChainView, req: AuthorizeRequest, principal: string): Decision {
  const action = req.action;
  let ctx: EvalContext | undefined;
  let contextual = false;
  for (const d of cv.denies) {
    if (!d.actions.has(action)) continue;
    if (d.condition !== undefined) {
      contextual = true;
      // A deny whose condition cannot be evaluated applies (fail closed).
      if (d.condition((ctx ??= new EvalContext(req.resource, req.context))) === false) continue;
      return d.decision;
    }
    index.remember(cv, action, d.decision);
    return d.decision;
  }
  let unmet: string | undefined;
  for (const g of cv.grants) {
    if (!g.role.has(action)) continue;
    if (g.condition !== undefined) {
      // A grant whose condition cannot be evaluated does not apply (fail closed).
      if (g.condition((ctx ??= new EvalContext(req.resource, req.context))) === true) return g.decision;
      contextual = true;
      unmet ??= g.id;
      continue;
    }
    if (!contextual) index.remember(cv, action, g.decision);
    return g.decision;
  }
  const note = unmet === undefined ? "" : ` (binding ${unmet} matches but its condition does not hold)`;
  const decision = deny(`no binding grants ${action} on ${cv.where} to ${principal}${note}`);
  if (!contextual) index.remember(cv, action, decision);
  return decision;
}

/**
 * Decides whether `req.principal` may perform `req.action` on `req.resource`.
 * @example
 * authorize(index, { principal: "usr_1", action: "compute:vm:get", resource: { org: "org_1", project: "prj_1" } })
 * // { allowed: true, reason: "binding bnd_1 grants role compute.reader to grp_1 on project prj_1", matched: "bnd_1" }
 */
export function authorize(index: AuthzIndex, req: AuthorizeRequest): Decision {
  if (typeof req !== "object" || req === null || typeof req.resource !== "object" || req.resource === null) {
    return deny("malformed request: principal, action and resource are required");
  }
  const { action, resource, principal } = req;
  const view = index.viewOf(principal);
  if (!view) return deny(`unknown principal ${principal}`);
  const chain = index.chainOf(resource.org, resource.project);
  if (typeof chain === "string") return deny(chain);
  if (req.session !== undefined) {
    const refused = checkSession(req.session, chain.projects, chain.where, action);
    if (refused) return refused;
  }
  const cv = index.chainView(view, chain);
  const memo = cv.memo.get(action);
  if (memo !== undefined) return memo;
  if (splitAction(action) === undefined) return deny(`malformed action ${JSON.stringify(action)}`);
  return evaluate(index, cv, req, principal);
}
