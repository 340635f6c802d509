import { describe, expect, it } from "bun:test";
import { decodeMessage, encodeMessage } from "./command-codec.ts";

describe("command codec", () => {
  it("round-trips bytes given as Uint8Array or Buffer (whose toJSON would otherwise win)", () => {
    const cmd = { put: { key: new Uint8Array([0, 1, 255]), value: Buffer.from("hello"), lease: 7 } };
    const back = decodeMessage<{ put: { key: Uint8Array; value: Uint8Array; lease: number } }>(encodeMessage(cmd));
    expect(back.put.key).toBeInstanceOf(Uint8Array);
    expect([...back.put.key]).toEqual([0, 1, 255]);
    expect(Buffer.from(back.put.value).toString()).toBe("hello");
    expect(back.put.lease).toBe(7);
  });

  it("round-trips every kind of value with JSON's treatment of undefined", () => {
    const value = {
      txn: {
        compare: [{ result: "EQUAL", target: "VALUE", key: new Uint8Array([1]), value: new Uint8Array(0) }],
        success: [{ requestPut: { key: new Uint8Array([2]), value: new Uint8Array(300).fill(7), prevKv: true } }],
        failure: [],
      },
      numbers: [0, 1, 127, 128, 2 ** 31, 2 ** 53 - 1, -1, -(2 ** 40), 1.5, -0.25, 1e300],
      text: ["", "ascii", "ünïcödé ✓", "x".repeat(200)],
      flags: [true, false, null],
      "custom key": { nested: { deeper: [[]] } },
      skipped: undefined,
      holes: [undefined, () => 1],
    };
    const back = decodeMessage<Record<string, unknown>>(encodeMessage(value));
    expect(back).toEqual({ ...value, skipped: undefined, holes: [null, null] } as never);
    expect("skipped" in back).toBe(false);
  });

  it("is deterministic and smaller than the JSON form", () => {
    const cmd = { put: { key: new TextEncoder().encode("bench/key-000001"), value: new Uint8Array(100).fill(120) } };
    const a = encodeMessage(cmd);
    expect([...encodeMessage(cmd)]).toEqual([...a]);
    expect(a.length).toBeLessThan(130);
  });

  it("decodes entries written by the JSON encoding of earlier versions", () => {
    const legacy = new TextEncoder().encode(JSON.stringify({ put: { key: { $b: "AAH/" }, value: { $b: "aGk=" }, lease: 0 } }));
    const back = decodeMessage<{ put: { key: Uint8Array; value: Uint8Array; lease: number } }>(legacy);
    expect([...back.put.key]).toEqual([0, 1, 255]);
    expect(new TextDecoder().decode(back.put.value)).toBe("hi");
  });

  it("rejects truncated or corrupt input and never writes a prototype", () => {
    const bytes = encodeMessage({ put: { key: new Uint8Array(10) } });
    expect(() => decodeMessage(bytes.subarray(0, bytes.length - 3))).toThrow(RangeError);
    expect(() => decodeMessage(Uint8Array.of(0xb1, 42))).toThrow(RangeError);
    const evil = decodeMessage<Record<string, unknown>>(encodeMessage(JSON.parse('{"__proto__": {"polluted": 1}}')));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(evil)).toBe(Object.prototype);
  });
});
