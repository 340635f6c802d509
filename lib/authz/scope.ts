/**
 * Scope keys: the strings the evaluator indexes bindings and denies by. A resource's scope chain
 * runs from its project up through parent projects to its organisation and the system, and a
 * binding on any scope of the chain applies to it.
 */
import type { Scope } from "./types.ts";

/** The key of the system scope. */
export const SYSTEM_SCOPE_KEY = "system";

/** The index key of a scope (`system`, `org/<id>`, `project/<id>`). */
export function scopeKey(scope: Scope): string {
  return scope.kind === "system" ? SYSTEM_SCOPE_KEY : `${scope.kind}/${scope.id}`;
}

/** A readable form of a scope for reasons and errors (`project prj_1`). */
export function describeScope(scope: Scope): string {
  return scope.kind === "system" ? "system" : `${scope.kind === "org" ? "organisation" : "project"} ${scope.id}`;
}
