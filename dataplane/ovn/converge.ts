/**
 * The diff between the desired northbound rows and the monitored replica: which rows to insert,
 * which columns to update, which rows to delete. Pure (reads the replica, changes nothing).
 *
 * Rules: a row is ours iff its external_ids carry `novanet:kind` and `novanet:id`; rows are
 * matched by (table, kind, id), never by name. Only the columns the model names are compared and
 * written. Reference sets keep their entries that point at rows not ours (an operator's port in
 * our switch stays), and external_ids keep keys outside the `novanet:` namespace. Our rows that
 * are no longer desired are deleted (their parents' references to them are dropped in the same
 * transaction); rows not ours are never updated or deleted.
 */
import type { Replica, Row, Value } from "../../lib/ovsdb/index.ts";
import { columnShape, type DatabaseSchema } from "../../lib/ovsdb/index.ts";
import { rowKey, type DesiredRow, type DesiredValue, type Ref } from "./nb-model.ts";
import { ID_KEY, KIND_KEY } from "./names.ts";

/** Tables the driver writes (and monitors). */
export const OWNED_TABLES = [
  "Logical_Switch",
  "Logical_Switch_Port",
  "Logical_Router",
  "Logical_Router_Port",
  "Logical_Router_Static_Route",
  "NAT",
  "DHCP_Options",
  "Port_Group",
  "ACL",
  "Gateway_Chassis",
] as const;

/** One planned operation. Uuid columns hold uuids or uuid-names of rows inserted by the plan. */
export type PlannedOp =
  | { op: "insert"; table: string; uuidName: string; row: Record<string, unknown> }
  | {
      op: "update";
      table: string;
      uuid: string;
      row: Record<string, unknown>;
      /** Reference sets changed by element (`mutate insert/delete`), not rewritten whole. */
      sets: { column: string; insert: string[]; delete: string[] }[];
    }
  | { op: "delete"; table: string; uuid: string };

/** The plan of one apply. */
export interface ConvergePlan {
  ops: PlannedOp[];
  /** One readable line per changed row (`insert Logical_Switch vpc:v1`, `update ... : ports`). */
  actions: string[];
}

/** The tag of a replica row, if it is ours. */
export function ownedTag(row: Row): { kind: string; id: string } | undefined {
  const ids = row.external_ids;
  if (!ids || typeof ids !== "object" || Array.isArray(ids)) return undefined;
  const kind = ids[KIND_KEY];
  const id = ids[ID_KEY];
  return typeof kind === "string" && typeof id === "string" ? { kind, id } : undefined;
}

function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).sort().join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Value equality with cheap paths for atoms and small sets (sets compare unordered). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    if (a.length === 1) return a[0] === b[0];
    return canon(a) === canon(b);
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
  }
  return false;
}

/** True when `cur` holds exactly `tag` among its `novanet:` keys. */
function tagMatches(cur: Record<string, Value>, tag: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(tag)) if (cur[k] !== v) return false;
  for (const k of Object.keys(cur)) if (k.startsWith("novanet:") && !(k in tag)) return false;
  return true;
}

const isRef = (v: unknown): v is Ref => typeof v === "object" && v !== null && !Array.isArray(v) && "ref" in v;

/** Plans the operations that turn the replica's rows of ours into exactly `desired`. */
export function planConverge(replica: Replica, schema: DatabaseSchema, desired: DesiredRow[]): ConvergePlan {
  const owned = new Map<string, { table: string; row: Row }>();
  const extras: { table: string; row: Row }[] = [];
  for (const table of OWNED_TABLES) {
    for (const row of replica.rows(table).values()) {
      const tag = ownedTag(row);
      if (!tag) continue;
      const key = rowKey(table, tag.kind, tag.id);
      if (owned.has(key)) extras.push({ table, row });
      else owned.set(key, { table, row });
    }
  }
  const isOwned = (table: string, uuid: string): boolean => {
    if (!(OWNED_TABLES as readonly string[]).includes(table)) return false;
    const r = replica.get(table, uuid);
    return r !== undefined && ownedTag(r) !== undefined;
  };

  const uuidOf = new Map<string, string>();
  let n = 0;
  for (const d of desired) {
    const key = rowKey(d.table, d.kind, d.id);
    uuidOf.set(key, (owned.get(key)?.row._uuid as string | undefined) ?? `novanet_row${n++}`);
  }
  const resolve = (v: DesiredValue): unknown => {
    const one = (x: unknown) => {
      if (!isRef(x)) return x;
      const u = uuidOf.get(x.ref);
      if (u === undefined) throw new Error(`internal: reference to undesired row ${x.ref}`);
      return u;
    };
    return Array.isArray(v) ? v.map(one) : one(v);
  };

  const refSets = new Map<string, string | undefined>();
  /** The referenced table when `table.column` is a set of uuid references. */
  const refSetTable = (table: string, column: string): string | undefined => {
    const k = `${table}.${column}`;
    if (!refSets.has(k)) {
      const shape = columnShape(schema.tables[table]!.columns[column]!);
      refSets.set(k, shape.key.type === "uuid" && shape.kind === "set" ? shape.key.refTable : undefined);
    }
    return refSets.get(k);
  };

  const ops: PlannedOp[] = [];
  const actions: string[] = [];
  const seen = new Set<string>();
  for (const d of desired) {
    const key = rowKey(d.table, d.kind, d.id);
    if (seen.has(key)) throw new Error(`internal: desired row ${key} twice`);
    seen.add(key);
    const label = `${d.table} ${d.kind}:${d.id}`;
    const tag = { ...(d.extraIds ?? {}), [KIND_KEY]: d.kind, [ID_KEY]: d.id };
    const cur = owned.get(key)?.row;
    const cols: Record<string, unknown> = {};
    for (const [c, v] of Object.entries(d.columns)) cols[c] = resolve(v);
    if (!cur) {
      ops.push({ op: "insert", table: d.table, uuidName: uuidOf.get(key)!, row: { ...cols, external_ids: tag } });
      actions.push(`insert ${label}`);
      continue;
    }
    const changed: Record<string, unknown> = {};
    const sets: { column: string; insert: string[]; delete: string[] }[] = [];
    for (const [c, want] of Object.entries(cols)) {
      const refTable = refSetTable(d.table, c);
      if (refTable && Array.isArray(cur[c])) {
        // Element-wise: add what is missing, remove only our rows no longer wanted (foreign
        // references stay). Large sets (a switch's ports) then cost O(change) on the wire.
        const have = new Set(cur[c] as string[]);
        const wanted = new Set(want as string[]);
        const insert = [...wanted].filter((u) => !have.has(u));
        const del = [...have].filter((u) => !wanted.has(u) && isOwned(refTable, u));
        if (insert.length > 0 || del.length > 0) sets.push({ column: c, insert, delete: del });
      } else if (!same(want, cur[c])) changed[c] = want;
    }
    const curIds = (cur.external_ids ?? {}) as Record<string, Value>;
    if (!tagMatches(curIds, tag)) {
      const ids = Object.create(null) as Record<string, unknown>;
      for (const [k, v] of Object.entries(curIds)) if (!k.startsWith("novanet:")) ids[k] = v;
      changed.external_ids = Object.assign(ids, tag);
    }
    if (Object.keys(changed).length > 0 || sets.length > 0) {
      ops.push({ op: "update", table: d.table, uuid: cur._uuid as string, row: changed, sets });
      actions.push(`update ${label}: ${[...Object.keys(changed), ...sets.map((x) => x.column)].sort().join(", ")}`);
    }
  }
  const gone = [...[...owned].filter(([k]) => !seen.has(k)).map(([, v]) => v), ...extras];
  for (const { table, row } of gone) {
    const tag = ownedTag(row)!;
    ops.push({ op: "delete", table, uuid: row._uuid as string });
    actions.push(`delete ${table} ${tag.kind}:${tag.id}`);
  }
  return { ops, actions };
}
