/**
 * A linearizability checker in the style of Porcupine (Athalye, after Wing & Gong and Lowe):
 * depth-first search over the orders an observed history allows, pruned by a cache of
 * (linearized set, model state) pairs, and split per partition (P-compositionality: for a
 * key-value store, each key is checked on its own).
 *
 * An operation that never returned (timeout, crash) gets return time Infinity: it may take effect
 * at any point after its call — or, placed last, effectively never.
 */

/** One completed (or abandoned) client operation. */
export interface Operation<I, O> {
  clientId: number;
  input: I;
  /** Undefined when the outcome is unknown (no response). */
  output: O | undefined;
  /** Monotonic times (e.g. performance.now()) of the call and of the response. */
  call: number;
  return: number;
}

/** A sequential specification. */
export interface Model<S, I, O> {
  init(): S;
  /** Applies `input` with observed `output` to `state`: ok false when impossible. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A stable string of a state (for the cache). */
  key(state: S): string;
  /** Splits a history into independent parts (default: one part). */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
}

/** The verdict, with the partition that failed when not linearizable. */
export interface CheckResult<I, O> {
  ok: boolean;
  failedPartition?: Operation<I, O>[];
  /** True when the search ran out of its budget (verdict unknown, reported as ok: false). */
  timedOut?: boolean;
}

interface Entry<I, O> {
  kind: "call" | "return";
  id: number;
  time: number;
  op: Operation<I, O>;
  match?: Entry<I, O>;
  prev?: Entry<I, O>;
  next?: Entry<I, O>;
}

/** Checks `history` against `model`; `budgetMs` bounds the search per partition. */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[], budgetMs = 10_000): CheckResult<I, O> {
  const parts = model.partition ? model.partition(history) : [history];
  for (const part of parts) {
    const r = checkPartition(model, part, budgetMs);
    if (r !== true) return { ok: false, failedPartition: part, ...(r === "timeout" ? { timedOut: true } : {}) };
  }
  return { ok: true };
}

function buildList<I, O>(ops: Operation<I, O>[]): Entry<I, O> {
  const entries: Entry<I, O>[] = [];
  ops.forEach((op, id) => {
    const call: Entry<I, O> = { kind: "call", id, time: op.call, op };
    const ret: Entry<I, O> = { kind: "return", id, time: op.return, op };
    call.match = ret;
    entries.push(call, ret);
  });
  // By time; on ties calls first (overlap is the permissive reading of equal timestamps).
  entries.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === "call" ? -1 : 1));
  const head: Entry<I, O> = { kind: "call", id: -1, time: -Infinity, op: undefined as unknown as Operation<I, O> };
  let prev = head;
  for (const e of entries) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

function lift<I, O>(e: Entry<I, O>): void {
  e.prev!.next = e.next;
  if (e.next) e.next.prev = e.prev;
  const m = e.match!;
  m.prev!.next = m.next;
  if (m.next) m.next.prev = m.prev;
}

function unlift<I, O>(e: Entry<I, O>): void {
  const m = e.match!;
  m.prev!.next = m;
  if (m.next) m.next.prev = m;
  e.prev!.next = e;
  if (e.next) e.next.prev = e;
}

function checkPartition<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], budgetMs: number): true | false | "timeout" {
  if (ops.length === 0) return true;
  const head = buildList(ops);
  const linearized = new Uint8Array(ops.length);
  const cache = new Set<string>();
  const calls: { entry: Entry<I, O>; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  const deadline = performance.now() + budgetMs;
  let steps = 0;
  while (head.next) {
    if ((++steps & 0xfff) === 0 && performance.now() > deadline) return "timeout";
    if (!entry) return false;
    if (entry.kind === "call") {
      const r = model.step(state, entry.op.input, entry.op.output);
      if (r.ok) {
        linearized[entry.id] = 1;
        const k = `${bitsKey(linearized)}|${model.key(r.state)}`;
        if (!cache.has(k)) {
          cache.add(k);
          calls.push({ entry, state });
          state = r.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.id] = 0;
      }
      entry = entry.next;
    } else {
      // A return reached with its call not linearized: backtrack.
      const top = calls.pop();
      if (!top) return false;
      state = top.state;
      linearized[top.entry.id] = 0;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return true;
}

function bitsKey(bits: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bits.length; i += 16) {
    let word = 0;
    for (let j = 0; j < 16 && i + j < bits.length; j++) word |= bits[i + j]! << j;
    s += String.fromCharCode(word);
  }
  return s;
}
