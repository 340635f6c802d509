/**
 * Framing of the Raft transport: `len:u32 LE | type:u8 | payload` where `len` counts the type
 * byte and the payload. A decoder reassembles frames from arbitrary TCP chunks.
 */
import { PackReader, PackWriter } from "./codec.ts";

/** Frame types. */
export const Frame = {
  /** First frame on a connection: `nodeId:u64 address:bytes` (the sender's listen address). */
  Hello: 1,
  /** Raft messages, a packed step buffer `(groupId:u64 len:u32 eraftpb.Message)*`. */
  Messages: 2,
  /** Start of a snapshot stream: `stream:u64 groupId:u64 message:bytes` (MsgSnapshot, no data). */
  SnapBegin: 3,
  /** One chunk of snapshot data: `stream:u64 chunk...`. */
  SnapChunk: 4,
  /** End of a snapshot stream: `stream:u64`. */
  SnapEnd: 5,
} as const;

/** Largest frame accepted; a peer sending more is cut off (snapshots travel in chunks). */
export const maxFrameBytes = 64 << 20;

/** Builds one frame: header and payload in a single buffer (one write, no Nagle split). */
export function frame(type: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 1;
  for (const p of parts) len += p.byteLength;
  const out = new Uint8Array(4 + len);
  new DataView(out.buffer).setUint32(0, len, true);
  out[4] = type;
  let at = 5;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The Hello frame. */
export function helloFrame(nodeId: number, address: string): Uint8Array {
  return frame(Frame.Hello, new PackWriter().u64(nodeId).bytes(new TextEncoder().encode(address)).finish());
}

/** Decodes a Hello payload. */
export function decodeHello(payload: Uint8Array): { nodeId: number; address: string } {
  const r = new PackReader(payload);
  return { nodeId: r.u64(), address: new TextDecoder().decode(r.bytes()) };
}

/** Reassembles frames from a byte stream. */
export class FrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);

  /**
   * Feeds bytes; calls `onFrame` for each complete frame (payload is a copy the callee owns).
   * @throws RangeError for a frame over `maxFrameBytes` (the connection should be closed).
   */
  push(chunk: Uint8Array, onFrame: (type: number, payload: Uint8Array) => void): void {
    let buf: Uint8Array;
    if (this.pending.byteLength === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.byteLength + chunk.byteLength);
      buf.set(this.pending);
      buf.set(chunk, this.pending.byteLength);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    while (buf.byteLength - at >= 4) {
      const len = view.getUint32(at, true);
      if (len < 1 || len > maxFrameBytes) throw new RangeError(`bad frame length ${len}`);
      if (buf.byteLength - at - 4 < len) break;
      const type = buf[at + 4]!;
      onFrame(type, buf.slice(at + 5, at + 4 + len));
      at += 4 + len;
    }
    this.pending = at === buf.byteLength ? new Uint8Array(0) : buf.slice(at);
  }
}
