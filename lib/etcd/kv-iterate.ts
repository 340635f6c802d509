/**
 * Iteration over a large range one page at a time: every page is read at the revision of the
 * first one, so the iteration sees one consistent snapshot while holding only one page in
 * memory. If that revision is compacted before the end, the iteration throws `ETCD:Compacted`
 * (restart it; it will read at the new current revision).
 */
import { keyAfter } from "./bytes.ts";
import type { CallControl, Connection } from "./connection.ts";
import { EtcdErrors } from "./errors.ts";
import type { KeyValue } from "./key-value.ts";
import type { KeyRange } from "./kv-ops.ts";
import { range } from "./kv.ts";

/** Options of `iteratePrefix` / `iterateRange`. */
export interface IterateOptions extends CallControl {
  /** Keys per request. Default 500. */
  pageSize?: number;
  /** Read at this revision instead of the current one. */
  revision?: number;
  /** Only keys and metadata, no values. */
  keysOnly?: boolean;
  /** Serve each page from the answering member without consensus (possibly stale). */
  serializable?: boolean;
}

/** One page of an iteration. */
export interface RangePage {
  kvs: KeyValue[];
  /** The revision every page is read at. */
  revision: number;
}

/**
 * The pages of a range, in key order. `timeoutMs`/`signal` apply to each page's call.
 */
export async function* pages(conn: Connection, r: KeyRange, options: IterateOptions = {}): AsyncGenerator<RangePage, void, undefined> {
  const pageSize = options.pageSize ?? 500;
  if (!Number.isSafeInteger(pageSize) || pageSize <= 0) throw EtcdErrors.InvalidArgument(`pageSize must be a positive integer, got ${pageSize}`);
  let revision = options.revision ?? 0;
  let from = r.key;
  for (;;) {
    const page = await range(conn, { key: from, end: r.end }, {
      limit: pageSize,
      revision,
      ...(options.keysOnly ? { keysOnly: true } : {}),
      ...(options.serializable ? { serializable: true } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (revision === 0) revision = page.revision;
    if (page.kvs.length > 0) yield { kvs: page.kvs, revision };
    const last = page.kvs[page.kvs.length - 1];
    // A single-key range (end empty) has no next page.
    if (!page.more || !last || r.end.length === 0) return;
    from = keyAfter(last.key);
  }
}

/** The key-values of a range, one page in memory at a time (see `pages`). */
export async function* items(conn: Connection, r: KeyRange, options: IterateOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
  for await (const page of pages(conn, r, options)) yield* page.kvs;
}
