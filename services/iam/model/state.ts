/**
 * `IamState`: the entities of the model by kind and id, with the unique-name index. It applies
 * `ModelChange`s without judging them (the planners in tenancy.ts, principals.ts and policy.ts
 * have already validated them, or a watch is replaying what a validated writer stored) and
 * answers lookups. Maps are keyed by ids and names users chose, so they are `Map`s, never objects.
 */
import { scopeKey } from "../../../lib/authz/scope.ts";
import { IamErrors } from "../errors.ts";
import type { EntityKind } from "./ids.ts";
import type { Entity, EntityOf, ModelChange } from "./types.ts";

const KINDS: readonly EntityKind[] = ["org", "project", "user", "serviceaccount", "group", "role", "binding", "deny"];

/** Readable names of kinds for messages. */
export const KIND_LABEL: Record<EntityKind, string> = {
  org: "organisation",
  project: "project",
  user: "user",
  serviceaccount: "service account",
  group: "group",
  role: "role",
  binding: "binding",
  deny: "deny policy",
};

/**
 * The key under which an entity's name must be unique (its parent plus its name), or, for a
 * binding, the key of its (principal, role, scope, condition), which must be unique too.
 */
export function uniqueKey(e: Entity): string {
  switch (e.kind) {
    case "org":
      return orgNameKey(e.name);
    case "project":
      return `project|${e.org}/${e.parent ?? ""}|${e.name}`;
    case "user":
      return userNameKey(e.org, e.name);
    case "serviceaccount":
      return `serviceaccount|${e.project}|${e.name}`;
    case "group":
      return `group|${e.org ?? ""}|${e.name}`;
    case "role":
      return `role|${e.org ?? ""}|${e.name}`;
    case "deny":
      return `deny|${scopeKey(e.scope)}|${e.name}`;
    case "binding":
      return `binding|${e.principal}|${e.role}|${scopeKey(e.scope)}|${e.condition ? JSON.stringify(e.condition) : ""}`;
  }
}

/** The unique-name key of the organisation called `name`. */
export function orgNameKey(name: string): string {
  return `org||${name}`;
}

/** The unique-name key of the user called `name` in `org` (undefined: a system user). */
export function userNameKey(org: string | undefined, name: string): string {
  return `user|${org ?? ""}|${name}`;
}

/** The model's entities, indexed. */
export class IamState {
  private readonly byKind = new Map<EntityKind, Map<string, Entity>>(KINDS.map((k) => [k, new Map()]));
  private readonly unique = new Map<string, string>();

  /** The entity of `kind` with `id`, or undefined. */
  get<K extends EntityKind>(kind: K, id: string): EntityOf<K> | undefined {
    return this.byKind.get(kind)!.get(id) as EntityOf<K> | undefined;
  }

  /**
   * The entity of `kind` with `id`.
   * @throws IAM:NotFound naming the kind and id.
   */
  require<K extends EntityKind>(kind: K, id: string): EntityOf<K> {
    const e = typeof id === "string" ? this.get(kind, id) : undefined;
    if (!e) throw IamErrors.NotFound(`${KIND_LABEL[kind]} ${JSON.stringify(id)} not found`, { details: { kind, id } });
    return e;
  }

  /** Every entity of `kind` (a live view: do not mutate while iterating). */
  all<K extends EntityKind>(kind: K): IterableIterator<EntityOf<K>> {
    return this.byKind.get(kind)!.values() as IterableIterator<EntityOf<K>>;
  }

  /** How many entities of `kind` there are. */
  count(kind: EntityKind): number {
    return this.byKind.get(kind)!.size;
  }

  /** The id of the entity holding `uniqueKey`, if any. */
  holderOf(key: string): string | undefined {
    return this.unique.get(key);
  }

  /** The kind of the entity with `id` among principals and groups, or undefined. */
  principalKind(id: string): "user" | "serviceaccount" | "group" | undefined {
    for (const k of ["user", "serviceaccount", "group"] as const) if (this.byKind.get(k)!.has(id)) return k;
    return undefined;
  }

  /** Applies changes in order. Puts replace by id (re-indexing the name); deletes of absent ids are no-ops. */
  apply(changes: readonly ModelChange[]): void {
    for (const c of changes) {
      const kind = c.op === "put" ? c.entity.kind : c.kind;
      const id = c.op === "put" ? c.entity.id : c.id;
      const map = this.byKind.get(kind)!;
      const old = map.get(id);
      if (old && this.unique.get(uniqueKey(old)) === id) this.unique.delete(uniqueKey(old));
      if (c.op === "put") {
        map.set(id, c.entity);
        this.unique.set(uniqueKey(c.entity), id);
      } else {
        map.delete(id);
      }
    }
  }
}
