/**
 * The output side of an H2Connection: frames are queued and written with one socket write per
 * turn of the event loop (a microtask flush), and what the socket did not take waits for its
 * drain. Also owns the socket's ending (end after the last byte, or terminate).
 */
import type { PeerCertificate } from "node:tls";
import { Flag, FrameType, frame, writeFrameHeader } from "./constants.ts";

/** The socket operations a connection uses (a Bun TCP or TLS socket). */
export interface H2Socket {
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  readonly remoteAddress: string;
  readonly remotePort?: number;
  getPeerCertificate?(): PeerCertificate;
}

/** See the module comment. */
export class FrameWriter {
  /** Once set, frames are dropped (the connection is closing). */
  closed = false;
  private out: Buffer[] = [];
  private outLength = 0;
  private flushQueued = false;
  private unwritten: Buffer | null = null;
  private endWhenFlushed = false;
  private socketGone = false;

  constructor(
    private readonly socket: H2Socket,
    private readonly onDrained: () => void,
  ) {}

  /** True while the socket has unwritten bytes (writers should wait for the drain). */
  get congested(): boolean {
    return this.unwritten !== null;
  }

  /** Queues bytes (a whole frame or part of one, in order). */
  send(buf: Buffer): void {
    if (this.closed) return;
    this.out.push(buf);
    this.outLength += buf.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Queues HEADERS (+ CONTINUATION frames past `maxFrame`) carrying `block`. */
  headers(id: number, block: Buffer, endStream: boolean, maxFrame: number): void {
    const endFlag = endStream ? Flag.END_STREAM : 0;
    if (block.length <= maxFrame) {
      const f = Buffer.allocUnsafe(9 + block.length);
      writeFrameHeader(f, 0, block.length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, id);
      block.copy(f, 9);
      this.send(f);
      return;
    }
    for (let at = 0; at < block.length; at += maxFrame) {
      const last = at + maxFrame >= block.length;
      const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      this.send(frame(type, (at === 0 ? endFlag : 0) | (last ? Flag.END_HEADERS : 0), id, block.subarray(at, at + maxFrame)));
    }
  }

  /** Queues one DATA frame (the caller applied flow control and the frame size). */
  data(id: number, data: Buffer): void {
    const h = Buffer.allocUnsafe(9);
    writeFrameHeader(h, 0, data.length, FrameType.DATA, 0, id);
    this.send(h);
    this.send(data);
  }

  /** Queues a frame whose payload is one 32-bit value (RST_STREAM, WINDOW_UPDATE). */
  u32(type: number, id: number, value: number): void {
    const f = Buffer.allocUnsafe(13);
    writeFrameHeader(f, 0, 4, type, 0, id);
    f.writeUInt32BE(value, 9);
    this.send(f);
  }

  /** Writes what is queued (unless the socket is still draining an earlier write). */
  flush(): void {
    this.flushQueued = false;
    if (this.unwritten !== null || this.outLength === 0) return;
    const data = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.outLength);
    this.out = [];
    this.outLength = 0;
    this.writeOut(data);
  }

  /** The socket can take more: writes the rest, then what queued meanwhile. */
  onDrain(): void {
    if (this.unwritten !== null) {
      const rest = this.unwritten;
      this.unwritten = null;
      this.writeOut(rest);
      if (this.unwritten !== null) return;
    }
    this.flush();
    if (this.unwritten === null) this.onDrained();
  }

  /** Ends the socket once everything queued is written. */
  endAfterFlush(): void {
    this.flush();
    if (this.unwritten !== null) this.endWhenFlushed = true;
    else this.end();
  }

  /** The socket is closed; nothing more can be done with it. */
  markGone(): void {
    this.socketGone = true;
    this.closed = true;
  }

  /** Closes the socket at once (unless it is already gone). */
  terminate(): void {
    if (this.socketGone) return;
    try {
      this.socket.terminate();
    } catch {
      // already closed
    }
  }

  private writeOut(data: Buffer): void {
    let n: number;
    try {
      n = this.socket.write(data);
    } catch {
      n = -1;
    }
    if (n < 0) return; // the socket is closing; its close event cleans up
    if (n < data.length) {
      this.unwritten = data.subarray(n);
      return;
    }
    this.unwritten = null;
    if (this.endWhenFlushed && this.outLength === 0) this.end();
  }

  private end(): void {
    try {
      this.socket.end();
    } catch {
      // already closed
    }
  }
}
