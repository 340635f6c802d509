/**
 * Built-in roles, present in every deployment without being stored: `admin ⊃ member ⊃ reader`
 * for every service (`compute.admin`, `iam.reader`...) and across all services (`admin`,
 * `member`, `reader`).
 *
 * - reader: the read verbs `get`, `list`, `watch`;
 * - member: everything except administering iam itself (creating, changing or deleting
 *   organisations, projects, users, service accounts, groups, roles, bindings and denies) and
 *   changing quotas; members may manage credentials and access keys and read everything;
 * - admin: every action of the service.
 * A binding names a built-in role by that name; custom roles have iam ids and cannot take them.
 */
import type { RoleSpec } from "./types.ts";

/** The verbs a reader gets. */
export const READ_VERBS = ["get", "list", "watch"] as const;

/** iam resources whose mutation is reserved to admins. */
export const IAM_ADMIN_RESOURCES = ["org", "project", "user", "serviceaccount", "group", "role", "binding", "deny"] as const;

const MUTATING_VERBS = ["create", "update", "delete"] as const;
const LEVELS = ["admin", "member", "reader"] as const;
const NAME = /^(?:([a-z][a-z0-9-]{0,62})\.)?(admin|member|reader)$/;

/** A built-in role level. */
export type BuiltinLevel = (typeof LEVELS)[number];

/** Actions a `member` may not perform (on top of being limited to its service). */
export const MEMBER_NOT_ACTIONS: readonly string[] = [
  ...IAM_ADMIN_RESOURCES.flatMap((r) => MUTATING_VERBS.map((v) => `iam:${r}:${v}`)),
  ...MUTATING_VERBS.map((v) => `*:quota:${v}`),
];

/** Whether `name` is a built-in role name (`admin`, `compute.reader`...). */
export function isBuiltinRoleName(name: string): boolean {
  return typeof name === "string" && NAME.test(name);
}

const cache = new Map<string, RoleSpec>();

/**
 * The built-in role called `name`, or undefined when `name` is not one.
 * @example builtinRole("compute.reader")?.actions // ["compute:*:get", "compute:*:list", "compute:*:watch"]
 */
export function builtinRole(name: string): RoleSpec | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  const m = typeof name === "string" ? NAME.exec(name) : null;
  if (!m) return undefined;
  const service = m[1] ?? "*";
  const level = m[2] as BuiltinLevel;
  const role: RoleSpec =
    level === "admin"
      ? { id: name, name, actions: [`${service}:*:*`] }
      : level === "member"
        ? { id: name, name, actions: [`${service}:*:*`], notActions: MEMBER_NOT_ACTIONS }
        : { id: name, name, actions: READ_VERBS.map((v) => `${service}:*:${v}`) };
  if (cache.size < 4096) cache.set(name, role);
  return role;
}
