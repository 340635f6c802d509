import { describe, expect, it } from "bun:test";
import { JsonStreamSplitter } from "./json-stream.ts";

describe("JsonStreamSplitter", () => {
  const msgs = [
    { id: 1, result: ["a{", "}b", 'q"u\\"ote'] },
    { method: "update", params: [null, { T: { "x": { new: { name: "héllo ✓ 🚀" } } } }], id: null },
    [1, [2, [3]]],
  ];
  const text = msgs.map((m) => JSON.stringify(m)).join(" \n");
  const bytes = new TextEncoder().encode(text);

  it("splits back-to-back JSON texts with braces and quotes inside strings", () => {
    expect(new JsonStreamSplitter().push(bytes)).toEqual(msgs);
  });

  it("gives the same values whatever the chunk boundaries, even inside a UTF-8 character", () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new JsonStreamSplitter();
      const out = [...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))];
      expect(out).toEqual(msgs);
    }
    const s = new JsonStreamSplitter();
    const out: unknown[] = [];
    for (const b of bytes) out.push(...s.push(Uint8Array.of(b)));
    expect(out).toEqual(msgs);
  });

  it("rejects bytes that are not JSON-RPC messages", () => {
    expect(() => new JsonStreamSplitter().push("hello")).toThrow(expect.objectContaining({ code: "OVSDB:ProtocolError" }));
    expect(() => new JsonStreamSplitter().push('{"a":1,}')).toThrow(expect.objectContaining({ code: "OVSDB:ProtocolError" }));
  });

  it("rejects a message larger than the limit", () => {
    const s = new JsonStreamSplitter({ maxMessageChars: 100 });
    expect(() => s.push(`{"a":"${"x".repeat(200)}`)).toThrow(expect.objectContaining({ code: "OVSDB:ProtocolError" }));
  });
});
