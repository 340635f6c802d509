import { describe, expect, it } from "bun:test";
import { checkLinearizable, type Operation } from "./checker.ts";
import { kvModel, type KvInput, type KvOutput } from "./kv-model.ts";

type Op = Operation<KvInput, KvOutput>;
const put = (c: number, key: string, value: string, call: number, ret: number): Op => ({ clientId: c, input: { op: "put", key, value }, output: { ok: true }, call, return: ret });
const get = (c: number, key: string, value: string | null, call: number, ret: number): Op => ({ clientId: c, input: { op: "get", key }, output: { value }, call, return: ret });

describe("linearizability checker (kv model)", () => {
  it("accepts a sequential history", () => {
    expect(checkLinearizable(kvModel, [put(0, "x", "1", 0, 1), get(1, "x", "1", 2, 3)]).ok).toBe(true);
  });

  it("accepts overlapping operations in either order", () => {
    const h = [put(0, "x", "1", 0, 10), get(1, "x", null, 1, 2), get(2, "x", "1", 3, 4)];
    expect(checkLinearizable(kvModel, h).ok).toBe(true);
  });

  it("rejects a stale read after a completed write", () => {
    const h = [put(0, "x", "1", 0, 1), get(1, "x", null, 2, 3)];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
  });

  it("rejects reads that go back in time", () => {
    const h = [put(0, "x", "1", 0, 10), get(1, "x", "1", 1, 2), get(2, "x", null, 3, 4)];
    expect(checkLinearizable(kvModel, h).ok).toBe(false);
  });

  it("lets an unanswered write take effect late or never", () => {
    const lost: Op = { clientId: 0, input: { op: "put", key: "x", value: "1" }, output: undefined, call: 0, return: Infinity };
    expect(checkLinearizable(kvModel, [lost, get(1, "x", null, 5, 6)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [lost, get(1, "x", "1", 5, 6), get(1, "x", "1", 7, 8)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [lost, get(1, "x", "1", 5, 6), get(1, "x", null, 7, 8)]).ok).toBe(false);
  });

  it("checks compare-and-swap outcomes", () => {
    const cas = (c: number, expectV: string | null, value: string, succeeded: boolean, call: number, ret: number): Op => ({
      clientId: c, input: { op: "cas", key: "x", expect: expectV, value }, output: { succeeded }, call, return: ret,
    });
    expect(checkLinearizable(kvModel, [put(0, "x", "a", 0, 1), cas(1, "a", "b", true, 2, 3), cas(2, "a", "c", false, 4, 5)]).ok).toBe(true);
    expect(checkLinearizable(kvModel, [put(0, "x", "a", 0, 1), cas(1, "a", "b", true, 2, 3), cas(2, "a", "c", true, 4, 5)]).ok).toBe(false);
  });

  it("checks keys independently", () => {
    const h = [put(0, "x", "1", 0, 1), put(0, "y", "2", 2, 3), get(1, "y", "2", 4, 5), get(1, "x", "1", 6, 7)];
    expect(checkLinearizable(kvModel, h).ok).toBe(true);
  });

  it("handles a few thousand concurrent operations", () => {
    const h: Op[] = [];
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      const key = `k${i % 10}`;
      h.push(put(i % 8, key, String(i), t, t + 3));
      h.push(get((i + 1) % 8, key, String(i), t + 4, t + 5));
      t += 6;
    }
    expect(checkLinearizable(kvModel, h).ok).toBe(true);
  });
});
