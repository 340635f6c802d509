import { describe, expect, it } from "bun:test";
import zlib from "node:zlib";
import { PhotonError } from "../errors.ts";
import { decompress, encodeFrame, FrameDecoder } from "./frame.ts";

function collect(decoder: FrameDecoder, chunks: Buffer[]): string[] {
  const out: string[] = [];
  const sink = { onFrame: (compressed: boolean, body: Buffer) => out.push(`${compressed ? "z" : ""}${body.toString()}`) };
  for (const c of chunks) decoder.push(c, sink);
  return out;
}

describe("FrameDecoder", () => {
  const stream = Buffer.concat([encodeFrame(Buffer.from("hello")), encodeFrame(Buffer.alloc(0)), encodeFrame(Buffer.from("world!"))]);

  it("decodes several messages from one chunk, empty ones included", () => {
    const d = new FrameDecoder(1024);
    expect(collect(d, [stream])).toEqual(["hello", "", "world!"]);
    expect(d.idle).toBe(true);
  });

  it("reassembles messages split at every possible byte", () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new FrameDecoder(1024);
      expect(collect(d, [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(["hello", "", "world!"]);
      expect(d.idle).toBe(true);
    }
    const d = new FrameDecoder(1024);
    expect(collect(d, [...stream].map((b) => Buffer.from([b])))).toEqual(["hello", "", "world!"]);
  });

  it("is not idle inside a message", () => {
    const d = new FrameDecoder(1024);
    collect(d, [stream.subarray(0, 3)]);
    expect(d.idle).toBe(false);
    collect(d, [stream.subarray(3, 7)]);
    expect(d.idle).toBe(false);
  });

  it("refuses a message over the limit from its header alone", () => {
    const d = new FrameDecoder(4);
    const header = encodeFrame(Buffer.from("hello")).subarray(0, 5);
    expect(() => collect(d, [header])).toThrow(PhotonError);
    try {
      new FrameDecoder(4).push(header, { onFrame: () => {} });
    } catch (e) {
      expect((e as PhotonError).code).toBe("GRPC:MessageTooLarge");
      expect((e as PhotonError).grpcStatus).toBe(8);
    }
  });

  it("rejects an invalid compressed flag", () => {
    const bad = encodeFrame(Buffer.from("x"));
    bad[0] = 7;
    expect(() => new FrameDecoder(10).push(bad, { onFrame: () => {} })).toThrow(/compressed flag/);
  });

  it("reports the compressed flag", () => {
    const f = encodeFrame(Buffer.from("abc"));
    f[0] = 1;
    expect(collect(new FrameDecoder(10), [f])).toEqual(["zabc"]);
  });
});

describe("decompress", () => {
  it("inflates gzip and deflate", () => {
    expect(decompress("gzip", zlib.gzipSync("hi"), 100).toString()).toBe("hi");
    expect(decompress("deflate", zlib.deflateSync("hi"), 100).toString()).toBe("hi");
  });

  it("stops compression bombs at the limit", () => {
    const bomb = zlib.gzipSync(Buffer.alloc(1 << 20));
    expect(() => decompress("gzip", bomb, 1000)).toThrow(/limit/);
  });

  it("rejects corrupt data and unknown encodings", () => {
    expect(() => decompress("gzip", Buffer.from("not gzip"), 100)).toThrow(/cannot decompress/);
    expect(() => decompress(undefined, Buffer.from("x"), 100)).toThrow(/grpc-encoding/);
  });
});
