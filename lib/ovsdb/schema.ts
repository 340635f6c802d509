/**
 * RFC 7047 schema types (as returned by `get_schema`) and the mapping between the wire notation
 * of values and plain JavaScript values used by the client's API and replicas:
 *
 * | column type (min..max)          | JS value                                  |
 * |---------------------------------|-------------------------------------------|
 * | scalar (exactly one atom)       | string / number / boolean                 |
 * | set (anything else, no `value`) | array of atoms (also for optional 0..1)   |
 * | map (has `value`)               | null-prototype object, keys as strings    |
 *
 * A uuid atom is its string. On encode, a string in a uuid column that is not a UUID is taken as a
 * `named-uuid` (a row inserted earlier in the same transaction with that `uuid-name`).
 */
import { OvsdbErrors } from "./errors.ts";

/** An atomic type name. */
export type AtomicType = "integer" | "real" | "boolean" | "string" | "uuid";

/** A base type with its constraints (only what the client uses is typed). */
export interface BaseType {
  type: AtomicType;
  refTable?: string;
  refType?: "strong" | "weak";
  enum?: unknown;
}

/** A column's type in its long form. */
export interface ColumnTypeObject {
  key: AtomicType | BaseType;
  value?: AtomicType | BaseType;
  min?: number;
  max?: number | "unlimited";
}

/** A column schema. */
export interface ColumnSchema {
  type: AtomicType | ColumnTypeObject;
  ephemeral?: boolean;
  mutable?: boolean;
}

/** A table schema. */
export interface TableSchema {
  columns: Record<string, ColumnSchema>;
  isRoot?: boolean;
  maxRows?: number;
  indexes?: string[][];
}

/** A database schema. */
export interface DatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: Record<string, TableSchema>;
}

/** An atom in JS form. */
export type Atom = string | number | boolean;
/** A column value in JS form (see the module doc). */
export type Value = Atom | Atom[] | Record<string, Atom>;
/** A row in JS form; `_uuid` (and `_version`) included when the server sends them. */
export type Row = Record<string, Value>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when `s` is a UUID in OVSDB's canonical (lower-case) text form. */
export const isUuid = (s: string): boolean => UUID_RE.test(s);

/** A normalised column type: base types, cardinality and shape. */
export interface ColumnShape {
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number;
  kind: "scalar" | "set" | "map";
}

const base = (t: AtomicType | BaseType): BaseType => (typeof t === "string" ? { type: t } : t);

/** The shape of a column type. */
export function columnShape(col: ColumnSchema): ColumnShape {
  const t = col.type;
  if (typeof t === "string") return { key: { type: t }, min: 1, max: 1, kind: "scalar" };
  const min = t.min ?? 1;
  const max = t.max === "unlimited" ? Infinity : (t.max ?? 1);
  const key = base(t.key);
  if (t.value !== undefined) return { key, value: base(t.value), min, max, kind: "map" };
  return { key, min, max, kind: min === 1 && max === 1 ? "scalar" : "set" };
}

const uuidColumns = ["_uuid", "_version"];

function decodeAtom(wire: unknown, where: string): Atom {
  if (typeof wire === "string" || typeof wire === "number" || typeof wire === "boolean") return wire;
  if (Array.isArray(wire) && (wire[0] === "uuid" || wire[0] === "named-uuid") && typeof wire[1] === "string") {
    return wire[1];
  }
  throw OvsdbErrors.ProtocolError(`${where}: unexpected atom ${JSON.stringify(wire)?.slice(0, 80)}`);
}

/** Decodes a wire value of a column into its JS form (one-element sets may arrive bare). */
export function decodeValue(col: ColumnSchema, wire: unknown, where = "value"): Value {
  const shape = columnShape(col);
  if (shape.kind === "map") {
    const out = Object.create(null) as Record<string, Atom>;
    if (!Array.isArray(wire) || wire[0] !== "map" || !Array.isArray(wire[1])) {
      throw OvsdbErrors.ProtocolError(`${where}: expected a map`);
    }
    for (const pair of wire[1] as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw OvsdbErrors.ProtocolError(`${where}: bad map pair`);
      out[String(decodeAtom(pair[0], where))] = decodeAtom(pair[1], where);
    }
    return out;
  }
  if (shape.kind === "set") {
    if (Array.isArray(wire) && wire[0] === "set") {
      if (!Array.isArray(wire[1])) throw OvsdbErrors.ProtocolError(`${where}: bad set`);
      return (wire[1] as unknown[]).map((a) => decodeAtom(a, where));
    }
    return [decodeAtom(wire, where)];
  }
  return decodeAtom(wire, where);
}

/** The default value of a column (what ovsdb-server leaves out of `update2` rows). */
export function defaultValue(col: ColumnSchema): Value {
  const shape = columnShape(col);
  if (shape.kind === "map") return Object.create(null) as Record<string, Atom>;
  if (shape.kind === "set") return [];
  switch (shape.key.type) {
    case "integer":
    case "real":
      return 0;
    case "boolean":
      return false;
    case "uuid":
      return "00000000-0000-0000-0000-000000000000";
    default:
      return "";
  }
}

/** Decodes a full row that omits default-valued columns (`update2` initial/insert): all columns present. */
export function decodeFullRow(table: TableSchema, wire: Record<string, unknown>, where = "row"): Row {
  const out = decodeRow(table, wire, where);
  for (const [name, col] of Object.entries(table.columns)) if (!(name in out)) out[name] = defaultValue(col);
  return out;
}

/** Decodes a wire row of `table` (columns missing from the schema are dropped). */
export function decodeRow(table: TableSchema, wire: Record<string, unknown>, where = "row"): Row {
  const out: Row = {};
  for (const [name, v] of Object.entries(wire)) {
    if (uuidColumns.includes(name)) out[name] = decodeAtom(v, `${where}.${name}`);
    else {
      const col = table.columns[name];
      if (col) out[name] = decodeValue(col, v, `${where}.${name}`);
    }
  }
  return out;
}

function encodeAtom(t: BaseType, v: unknown, where: string): unknown {
  switch (t.type) {
    case "uuid":
      if (typeof v !== "string") break;
      return isUuid(v) ? ["uuid", v] : ["named-uuid", v];
    case "integer":
      if (typeof v === "number" && Number.isInteger(v)) return v;
      break;
    case "real":
      if (typeof v === "number" && Number.isFinite(v)) return v;
      break;
    case "boolean":
      if (typeof v === "boolean") return v;
      break;
    case "string":
      if (typeof v === "string") return v;
      break;
  }
  throw OvsdbErrors.InvalidValue(`${where}: ${JSON.stringify(v)?.slice(0, 80)} is not a ${t.type}`);
}

/**
 * Encodes a JS value for a column into wire notation.
 * @throws PhotonError `OVSDB:InvalidValue` when the value does not fit the column type.
 */
export function encodeValue(col: ColumnSchema, v: unknown, where = "value"): unknown {
  const shape = columnShape(col);
  if (shape.kind === "map") {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw OvsdbErrors.InvalidValue(`${where}: expected an object (map)`);
    const pairs = Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      encodeAtom(shape.key, shape.key.type === "integer" ? Number(k) : k, where),
      encodeAtom(shape.value!, x, where),
    ]);
    return ["map", pairs];
  }
  if (shape.kind === "set") {
    const items = Array.isArray(v) ? v : [v];
    if (items.length < shape.min || items.length > shape.max) {
      throw OvsdbErrors.InvalidValue(`${where}: ${items.length} elements, column allows ${shape.min}..${shape.max}`);
    }
    return ["set", items.map((x) => encodeAtom(shape.key, x, where))];
  }
  return encodeAtom(shape.key, v, where);
}

/**
 * Encodes a JS row (a subset of columns) of `table` for `insert`/`update`.
 * @throws PhotonError `OVSDB:InvalidValue` on an unknown column or a value that does not fit.
 */
export function encodeRow(schema: DatabaseSchema, table: string, row: Record<string, unknown>): Record<string, unknown> {
  const t = schema.tables[table];
  if (!t) throw OvsdbErrors.InvalidValue(`unknown table ${table} in ${schema.name}`);
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(row)) {
    const col = t.columns[name];
    if (!col) throw OvsdbErrors.InvalidValue(`unknown column ${table}.${name}`);
    out[name] = encodeValue(col, v, `${table}.${name}`);
  }
  return out;
}
