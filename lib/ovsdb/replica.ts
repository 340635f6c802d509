/**
 * An in-memory copy of some tables of one database, kept current by an RFC 7047 `monitor`: filled
 * from the monitor's initial reply, then patched by every `update` notification. On reconnect the
 * client re-monitors and the replica is replaced by the fresh initial contents.
 */
import { columnShape, decodeFullRow, decodeRow, decodeValue, type Atom, type DatabaseSchema, type Row } from "./schema.ts";

/** A change seen by a replica: `old` absent = insert, `new` absent = delete. */
export interface RowChange {
  table: string;
  uuid: string;
  old?: Row;
  new?: Row;
}

/** A monitored replica of `tables` of database `db`. Read-only for users. */
export class Replica {
  private readonly data = new Map<string, Map<string, Row>>();
  private readonly listeners = new Set<(changes: RowChange[]) => void>();
  /** Number of update batches applied (initial contents included); grows on every change. */
  generation = 0;

  constructor(
    readonly db: string,
    readonly schema: DatabaseSchema,
    readonly tables: readonly string[],
  ) {
    for (const t of tables) this.data.set(t, new Map());
  }

  /** Rows of `table` by uuid (empty map for an unmonitored table). */
  rows(table: string): ReadonlyMap<string, Row> {
    return this.data.get(table) ?? new Map();
  }

  /** One row, or undefined. */
  get(table: string, uuid: string): Row | undefined {
    return this.data.get(table)?.get(uuid);
  }

  private notify(changes: RowChange[]): void {
    for (const fn of this.listeners) {
      try {
        fn(changes);
      } catch {
        // a listener's failure is its own; the replica stays consistent
      }
    }
  }

  /** Calls `fn` after each applied batch of changes (errors it throws are ignored); returns an unsubscribe function. */
  onChange(fn: (changes: RowChange[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Applies `<table-updates2>` of `monitor_cond` (ovsdb-server(7)): `initial`/`insert` carry the
   * row without its default-valued columns, `delete` removes it, `modify` carries only the
   * difference — for a set the elements to toggle, for a map the pairs to add, remove (same value)
   * or change; a column of at most one element carries its new value.
   * @internal
   */
  applyUpdates2(updates: Record<string, Record<string, Record<string, Record<string, unknown> | null>>>, reset: boolean): void {
    if (reset) for (const m of this.data.values()) m.clear();
    const changes: RowChange[] = [];
    for (const [table, rows] of Object.entries(updates ?? {})) {
      const m = this.data.get(table);
      const ts = this.schema.tables[table];
      if (!m || !ts) continue;
      for (const [uuid, u] of Object.entries(rows)) {
        const old = m.get(uuid);
        const full = u.initial ?? u.insert;
        if (full) {
          const row = decodeFullRow(ts, full, table);
          row._uuid = uuid;
          m.set(uuid, row);
          changes.push({ table, uuid, ...(old ? { old } : {}), new: row });
        } else if (u.modify && old) {
          const row: Row = { ...old };
          for (const [col, wire] of Object.entries(u.modify)) {
            const cs = ts.columns[col];
            if (!cs) continue;
            const diff = decodeValue(cs, wire, `${table}.${col}`);
            const cur = old[col];
            // A column of at most one element carries its new value, not a difference.
            if (columnShape(cs).max === 1) row[col] = diff;
            else if (Array.isArray(diff) && Array.isArray(cur)) {
              const out = new Set(cur);
              for (const x of diff) if (out.has(x)) out.delete(x); else out.add(x);
              row[col] = [...out];
            } else if (diff && typeof diff === "object" && !Array.isArray(diff) && cur && typeof cur === "object" && !Array.isArray(cur)) {
              const out = Object.assign(Object.create(null) as Record<string, Atom>, cur);
              for (const [k, v] of Object.entries(diff)) if (out[k] === v) delete out[k]; else out[k] = v;
              row[col] = out;
            } else row[col] = diff;
          }
          m.set(uuid, row);
          changes.push({ table, uuid, old, new: row });
        } else if ("delete" in u) {
          m.delete(uuid);
          changes.push({ table, uuid, ...(old ? { old } : {}) });
        }
      }
    }
    this.generation++;
    this.notify(changes);
  }

  /** Applies RFC 7047 `<table-updates>` (`reset` = it is a fresh initial reply). @internal */
  applyUpdates(updates: Record<string, Record<string, { old?: Record<string, unknown>; new?: Record<string, unknown> }>>, reset: boolean): void {
    if (reset) for (const m of this.data.values()) m.clear();
    const changes: RowChange[] = [];
    for (const [table, rows] of Object.entries(updates ?? {})) {
      const m = this.data.get(table);
      const ts = this.schema.tables[table];
      if (!m || !ts) continue;
      for (const [uuid, u] of Object.entries(rows)) {
        const old = m.get(uuid);
        if (u.new) {
          const row = decodeRow(ts, u.new, table);
          row._uuid = uuid;
          m.set(uuid, row);
          changes.push({ table, uuid, ...(old ? { old } : {}), new: row });
        } else {
          m.delete(uuid);
          changes.push({ table, uuid, ...(old ? { old } : {}) });
        }
      }
    }
    this.generation++;
    this.notify(changes);
  }
}
