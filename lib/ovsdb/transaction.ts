/**
 * A schema-aware builder of one RFC 7047 `transact`: operations take JS values (see schema.ts) and
 * are encoded against the database schema when added, so a bad value fails before anything is
 * sent. `commit()` sends all operations as one atomic transaction.
 */
import { OvsdbErrors } from "./errors.ts";
import { columnShape, decodeRow, encodeRow, encodeValue, type ColumnSchema, type DatabaseSchema, type Row, type Value } from "./schema.ts";

/** A condition: `[column, function, value]` with a JS value (`_uuid` takes a uuid string). */
export type Condition = [column: string, fn: "==" | "!=" | "<" | "<=" | ">" | ">=" | "includes" | "excludes", value: unknown];
/** A mutation: `[column, mutator, value]`. */
export type Mutation = [column: string, mutator: "+=" | "-=" | "*=" | "/=" | "%=" | "insert" | "delete", value: unknown];

/** The result of one operation, decoded. */
export interface OperationResult {
  /** uuid of an inserted row. */
  uuid?: string;
  /** rows matched by update/delete/mutate. */
  count?: number;
  /** rows of a select. */
  rows?: Row[];
}

/** Sends a raw transact; implemented by the client. */
export type TransactFn = (db: string, ops: unknown[]) => Promise<unknown[]>;

/** Builder of one transaction. */
export class Transaction {
  /** The encoded operations, in order. */
  readonly ops: Record<string, unknown>[] = [];
  /** Table of each select, to decode its rows. */
  private readonly selects = new Map<number, string>();

  constructor(
    readonly schema: DatabaseSchema,
    private readonly send: TransactFn,
  ) {}

  private table(name: string) {
    const t = this.schema.tables[name];
    if (!t) throw OvsdbErrors.InvalidValue(`unknown table ${name} in ${this.schema.name}`);
    return t;
  }

  private where(table: string, conds: Condition[]): unknown[] {
    const t = this.table(table);
    return conds.map(([col, fn, v]) => {
      if (col === "_uuid") {
        if (typeof v !== "string") throw OvsdbErrors.InvalidValue(`${table}._uuid: expected a uuid string`);
        return [col, fn, encodeValue({ type: "uuid" }, v, `${table}._uuid`)];
      }
      const c = t.columns[col];
      if (!c) throw OvsdbErrors.InvalidValue(`unknown column ${table}.${col}`);
      return [col, fn, encodeValue(c, v, `${table}.${col}`)];
    });
  }

  /** Inserts `row`; `uuidName` lets later operations (and other rows) refer to it. */
  insert(table: string, row: Record<string, unknown>, uuidName?: string): this {
    this.ops.push({ op: "insert", table, row: encodeRow(this.schema, table, row), ...(uuidName ? { "uuid-name": uuidName } : {}) });
    return this;
  }

  /** Sets `row`'s columns on every row matching `where`. */
  update(table: string, where: Condition[], row: Record<string, unknown>): this {
    this.ops.push({ op: "update", table, where: this.where(table, where), row: encodeRow(this.schema, table, row) });
    return this;
  }

  /** Applies mutations on every row matching `where`. */
  mutate(table: string, where: Condition[], mutations: Mutation[]): this {
    const t = this.table(table);
    const muts = mutations.map(([col, m, v]) => {
      const c = t.columns[col];
      if (!c) throw OvsdbErrors.InvalidValue(`unknown column ${table}.${col}`);
      // Set/map mutations take any number of elements; a map "delete" may take a set of keys.
      const shape = columnShape(c);
      const colType: ColumnSchema =
        shape.kind === "scalar"
          ? c
          : shape.kind === "map" && m === "delete" && Array.isArray(v)
            ? { type: { key: shape.key, min: 0, max: "unlimited" } }
            : { type: { key: shape.key, ...(shape.value ? { value: shape.value } : {}), min: 0, max: "unlimited" } };
      return [col, m, encodeValue(colType, v, `${table}.${col}`)];
    });
    this.ops.push({ op: "mutate", table, where: this.where(table, where), mutations: muts });
    return this;
  }

  /** Deletes every row matching `where`. */
  delete(table: string, where: Condition[]): this {
    this.ops.push({ op: "delete", table, where: this.where(table, where) });
    return this;
  }

  /** Selects rows (all columns unless `columns`). */
  select(table: string, where: Condition[], columns?: string[]): this {
    this.selects.set(this.ops.length, table);
    this.ops.push({ op: "select", table, where: this.where(table, where), ...(columns ? { columns } : {}) });
    return this;
  }

  /** Waits (up to `timeoutMs`, 0 = fail at once) until the matching rows `until` equal `rows`. */
  wait(table: string, where: Condition[], columns: string[], until: "==" | "!=", rows: Record<string, Value>[], timeoutMs = 0): this {
    this.ops.push({
      op: "wait",
      table,
      where: this.where(table, where),
      columns,
      until,
      rows: rows.map((r) => encodeRow(this.schema, table, r)),
      timeout: timeoutMs,
    });
    return this;
  }

  /** Adds a comment to the server's log of this transaction. */
  comment(text: string): this {
    this.ops.push({ op: "comment", comment: text });
    return this;
  }

  /**
   * Sends the operations as one transaction.
   * @throws PhotonError `OVSDB:TransactionFailed` when any operation (or the commit) failed; details
   *   carry `error`, `details` and the failing `opIndex` (-1 for the commit). Nothing was committed.
   */
  async commit(): Promise<OperationResult[]> {
    if (this.ops.length === 0) return [];
    const raw = await this.send(this.schema.name, this.ops);
    const bad = raw.findIndex((r) => typeof r === "object" && r !== null && "error" in r && (r as { error: unknown }).error != null);
    if (bad >= 0) {
      const r = raw[bad] as { error: string; details?: string };
      const opIndex = bad < this.ops.length ? bad : -1;
      const what = opIndex >= 0 ? `operation ${opIndex} (${String(this.ops[opIndex]!.op)} ${String(this.ops[opIndex]!.table ?? "")})` : "commit";
      throw OvsdbErrors.TransactionFailed(`${what} failed: ${r.error}${r.details ? `: ${r.details}` : ""}`, {
        details: { error: r.error, details: r.details, opIndex },
      });
    }
    return raw.slice(0, this.ops.length).map((r, i) => {
      const o = (r ?? {}) as { uuid?: [string, string]; count?: number; rows?: Record<string, unknown>[] };
      const out: OperationResult = {};
      if (o.uuid) out.uuid = o.uuid[1];
      if (o.count !== undefined) out.count = o.count;
      const table = this.selects.get(i);
      if (o.rows && table) out.rows = o.rows.map((row) => decodeRow(this.schema.tables[table]!, row, table));
      return out;
    });
  }
}
