/**
 * The input side of an H2Connection: checks the client preface and cuts the byte stream into
 * frames (RFC 9113 4.1), keeping a partial frame across socket reads.
 */
import { PREFACE } from "./constants.ts";

/** Receives each complete frame; returns false to stop reading (the connection is closing). */
export type FrameHandler = (type: number, flags: number, id: number, payload: Buffer) => boolean;

/** What `push` found wrong, if anything. */
export type ReadProblem = "not-http2" | { frameTooLarge: number } | null;

/** See the module comment. */
export class FrameReader {
  private input: Buffer | null = null;
  private prefaceSeen = false;

  constructor(private readonly maxFrameSize: number) {}

  /**
   * Feeds bytes; calls `onFrame` for each complete frame in order. Returns "not-http2" when the
   * connection does not start with the preface, `{ frameTooLarge }` for a frame past
   * `maxFrameSize` (a connection error), null otherwise.
   */
  push(chunk: Buffer, onFrame: FrameHandler): ReadProblem {
    let data = chunk;
    if (this.input !== null) {
      data = Buffer.concat([this.input, chunk]);
      this.input = null;
    }
    let p = 0;
    if (!this.prefaceSeen) {
      const n = Math.min(data.length, PREFACE.length);
      if (data.compare(PREFACE, 0, n, 0, n) !== 0) return "not-http2";
      if (n < PREFACE.length) {
        this.input = data;
        return null;
      }
      this.prefaceSeen = true;
      p = PREFACE.length;
    }
    while (data.length - p >= 9) {
      const length = (data[p]! << 16) | (data[p + 1]! << 8) | data[p + 2]!;
      if (length > this.maxFrameSize) return { frameTooLarge: length };
      if (data.length - p - 9 < length) break;
      const type = data[p + 3]!;
      const flags = data[p + 4]!;
      const id = data.readUInt32BE(p + 5) & 0x7fffffff;
      const payload = data.subarray(p + 9, p + 9 + length);
      p += 9 + length;
      if (!onFrame(type, flags, id, payload)) return null;
    }
    if (p < data.length) this.input = data.subarray(p);
    return null;
  }
}
