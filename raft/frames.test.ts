import { describe, expect, it } from "bun:test";
import { decodeChanges, decodeReady, encodeChanges, PackReader, PackWriter } from "./codec.ts";
import { decodeHello, FrameDecoder, frame, helloFrame, maxFrameBytes } from "./frames.ts";

describe("frames", () => {
  it("reassembles frames split at every byte boundary", () => {
    const frames = [frame(2, new Uint8Array([1, 2, 3])), helloFrame(7, "127.0.0.1:9"), frame(5, new Uint8Array(300).fill(9))];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.byteLength;
    }
    for (let cut = 0; cut <= all.byteLength; cut += 7) {
      const got: [number, Uint8Array][] = [];
      const d = new FrameDecoder();
      d.push(all.subarray(0, cut), (t, p) => got.push([t, p]));
      d.push(all.subarray(cut), (t, p) => got.push([t, p]));
      expect(got.map(([t]) => t)).toEqual([2, 1, 5]);
      expect(decodeHello(got[1]![1])).toEqual({ nodeId: 7, address: "127.0.0.1:9" });
      expect(got[2]![1].byteLength).toBe(300);
    }
  });

  it("rejects an oversized or empty frame instead of buffering it", () => {
    const bad = new Uint8Array(8);
    new DataView(bad.buffer).setUint32(0, maxFrameBytes + 1, true);
    expect(() => new FrameDecoder().push(bad, () => {})).toThrow(RangeError);
    expect(() => new FrameDecoder().push(new Uint8Array(5), () => {})).toThrow(RangeError);
  });
});

describe("codec", () => {
  it("round-trips u64 values up to 2^53 and member changes", () => {
    const w = new PackWriter().u64(2 ** 53 - 1).u64(0).u64(2 ** 32 + 5).bytes(new Uint8Array([1]));
    const r = new PackReader(w.finish());
    expect([r.u64(), r.u64(), r.u64()]).toEqual([2 ** 53 - 1, 0, 2 ** 32 + 5]);
    expect([...r.bytes()]).toEqual([1]);
    const changes = [{ type: 2, nodeId: 4 }, { type: 1, nodeId: 9 }] as const;
    expect(decodeChanges(encodeChanges([...changes]))).toEqual([...changes]);
  });

  it("decodes a ready with a snapshot, membership, read states and entries", () => {
    const w = new PackWriter().u32(1);
    w.u64(3).u8(3).u64(7).u64(40).u64(2).u8(2).u64(41);
    w.u64(30).u64(6).bytes(new TextEncoder().encode("state"));
    w.u8(0).u32(3).u64(1).u64(2).u64(4).u32(0).u32(0).u32(0);
    w.u32(1).u64(40).bytes(new TextEncoder().encode("r1"));
    w.u32(2);
    w.u8(0).u64(31).u64(7).bytes(new Uint8Array(0)).bytes(new TextEncoder().encode("x"));
    w.u8(1).u64(32).u64(7).bytes(encodeChanges([{ type: 2, nodeId: 5 }])).bytes(new Uint8Array(0));
    w.u32(1).u64(1).bytes(new Uint8Array([9, 9]));
    w.u32(0);
    const rd = decodeReady(w.finish());
    const g = rd.groups[0]!;
    expect(g.role).toBe("leader");
    expect(g.snapshot?.index).toBe(30);
    expect(g.membership?.voters).toEqual([1, 2, 4]);
    expect(g.readStates[0]?.index).toBe(40);
    expect(g.entries.map((e) => e.kind)).toEqual(["normal", "confChange"]);
    expect(g.entries[1]!.changes).toEqual([{ type: 2, nodeId: 5 }]);
    expect([...rd.messages.get(1)!]).toEqual([9, 9]);
  });
});
