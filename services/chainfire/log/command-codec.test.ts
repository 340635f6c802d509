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
});
