/**
 * The sequential specification of a key-value register per key: get, put, and compare-and-swap,
 * partitioned by key for the checker.
 */
import type { Model, Operation } from "./checker.ts";

/** An operation on the store. */
export type KvInput =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: string }
  | { op: "cas"; key: string; expect: string | null; value: string };

/** What the client observed: the value read, or whether a CAS succeeded. */
export type KvOutput = { value: string | null } | { ok: true } | { succeeded: boolean };

/** Per-key register model. State: the key's value (null = absent). */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case "get":
        // An unanswered read constrains nothing.
        if (output === undefined) return { ok: true, state };
        return { ok: "value" in output && output.value === state, state };
      case "put":
        return { ok: true, state: input.value };
      case "cas": {
        const matches = state === input.expect;
        if (output === undefined) return { ok: true, state: matches ? input.value : state };
        const succeeded = "succeeded" in output && output.succeeded;
        if (succeeded !== matches) return { ok: false, state };
        return { ok: true, state: matches ? input.value : state };
      }
    }
  },
  key: (state) => (state === null ? "\u0000null" : state),
  partition(history: Operation<KvInput, KvOutput>[]) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key) ?? [];
      list.push(op);
      byKey.set(op.input.key, list);
    }
    return [...byKey.values()];
  },
};
