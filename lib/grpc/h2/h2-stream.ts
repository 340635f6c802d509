/**
 * One HTTP/2 stream of the raw-socket transport, as the CallStream a ServerCall talks to: a
 * plain object with counters and a small output queue — no Node stream, no event emitter.
 *
 * Sending honours flow control: response bytes wait in `outQ` until both the stream's and the
 * connection's send windows allow them (split to the peer's SETTINGS_MAX_FRAME_SIZE), and the
 * trailers wait behind them. Receiving: the stream's receive window is replenished once half of
 * it is used, unless the call paused reading (then the client stops at the window's end).
 */
import type { OutgoingHttpHeaders } from "node:http2";
import type { PeerCertificate } from "node:tls";
import type { CallStream, CallStreamSink } from "../call-stream.ts";
import { ErrorCode, MAX_WINDOW } from "./constants.ts";
import { encodeHeaders } from "./hpack.ts";
import type { H2Connection } from "./h2-connection.ts";

interface OutItem {
  data: Buffer | null;
  trailers: Buffer | null;
}

// Header blocks of frozen header objects (the constant OK headers/trailers of ServerCall) are
// encoded once.
const blockCache = new WeakMap<OutgoingHttpHeaders, Buffer>();

/** Encodes a header object (pseudo-headers first, as RFC 9113 8.3 requires). */
export function headerBlock(headers: OutgoingHttpHeaders): Buffer {
  const cached = blockCache.get(headers);
  if (cached) return cached;
  const fields: [string, string][] = [];
  const regular: [string, string][] = [];
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    const list = name.charCodeAt(0) === 58 /* : */ ? fields : regular;
    if (Array.isArray(v)) for (const x of v) list.push([name, String(x)]);
    else list.push([name, String(v)]);
  }
  for (const f of regular) fields.push(f);
  const block = encodeHeaders(fields);
  if (Object.isFrozen(headers)) blockCache.set(headers, block);
  return block;
}

/** See the module comment. Created by H2Connection for each new request stream. */
export class H2Stream implements CallStream {
  /** Peer's window for what we send on this stream. */
  sendWindow: number;
  private recvWindow: number;
  private recvUnacked = 0;
  private paused = false;
  /** The client sent END_STREAM. */
  remoteEnded = false;
  /** Our END_STREAM is queued (nothing more may be queued). */
  private localEnded = false;
  private localEndSent = false;
  private gone = false;
  private sink: CallStreamSink | null = null;
  private outQ: OutItem[] = [];
  private drainCbs: (() => void)[] | null = null;

  constructor(
    private readonly conn: H2Connection,
    readonly id: number,
    peerInitialWindow: number,
    private readonly localWindow: number,
    firstRecvWindow: number,
  ) {
    this.sendWindow = peerInitialWindow;
    this.recvWindow = firstRecvWindow;
  }

  // ---- CallStream ----

  get destroyed(): boolean {
    return this.gone;
  }

  get peer(): string {
    return this.conn.peer;
  }

  peerCertificate(): PeerCertificate | undefined {
    return this.conn.peerCertificate();
  }

  attach(sink: CallStreamSink): void {
    this.sink = sink;
    if (this.remoteEnded) sink.onEnd();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.recvUnacked > 0 && !this.remoteEnded && !this.gone) this.ackReceived();
  }

  confirmEnd(then: () => void): void {
    // Clients cancel by ending the request and resetting right after (Bun's node:http2 sends
    // DATA END_STREAM then RST_STREAM CANCEL): a request stream counts as complete only if no
    // reset follows within the same turn of input, as on the node:http2 transport.
    setImmediate(() => {
      if (!this.gone) then();
    });
  }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.gone || this.localEnded) return;
    this.conn.sendHeaders(this.id, headerBlock(headers), endStream);
    if (endStream) {
      this.localEnded = true;
      this.localEndSent = true;
      if (this.remoteEnded) this.finish();
    }
  }

  write(data: Buffer): boolean {
    if (this.gone || this.localEnded) return true;
    if (data.length > 0) this.outQ.push({ data, trailers: null });
    this.flushOut();
    return this.outQ.length === 0 && !this.conn.congested;
  }

  onceDrain(cb: () => void): void {
    if (this.gone) {
      cb();
      return;
    }
    (this.drainCbs ??= []).push(cb);
    this.conn.watchDrain(this);
  }

  end(data: Buffer | undefined, trailers: OutgoingHttpHeaders): void {
    if (this.gone || this.localEnded) return;
    this.localEnded = true;
    if (data && data.length > 0) this.outQ.push({ data, trailers: null });
    this.outQ.push({ data: null, trailers: headerBlock(trailers) });
    this.flushOut();
  }

  closeRequest(): void {
    if (this.remoteEnded || this.gone || this.outQ.length > 0) return; // flushOut resets after the trailers
    this.reset(ErrorCode.NO_ERROR);
  }

  // ---- driven by the connection ----

  /** Request bytes; `frameLength` is the whole DATA payload (padding included) for flow control. */
  onData(data: Buffer, frameLength: number, endStream: boolean): void {
    if (this.remoteEnded) {
      this.reset(ErrorCode.STREAM_CLOSED);
      return;
    }
    this.recvWindow -= frameLength;
    if (this.recvWindow < 0) {
      this.reset(ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    this.recvUnacked += frameLength;
    if (data.length > 0) this.sink?.onData(data);
    if (this.gone) return;
    if (endStream) {
      this.onEnd();
      return;
    }
    if (!this.paused && this.recvUnacked >= this.localWindow >>> 1) this.ackReceived();
  }

  /** The client's END_STREAM (on DATA or on trailing HEADERS). */
  onEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    this.sink?.onEnd();
    if (this.localEndSent && !this.gone) this.finish();
  }

  /** A WINDOW_UPDATE for this stream. */
  onWindowUpdate(increment: number): void {
    if (increment === 0) {
      this.reset(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.sendWindow += increment;
    if (this.sendWindow > MAX_WINDOW) {
      this.reset(ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    this.flushOut();
  }

  /** Sends what the windows allow; after the trailers, closes or resets the request side. */
  flushOut(): void {
    const q = this.outQ;
    while (q.length > 0 && !this.gone) {
      const item = q[0]!;
      if (item.data) {
        let d = item.data;
        while (d.length > 0) {
          const n = Math.min(d.length, this.sendWindow, this.conn.sendWindow, this.conn.peerMaxFrame);
          if (n <= 0) {
            item.data = d;
            this.conn.waitForWindow(this);
            return;
          }
          this.sendWindow -= n;
          this.conn.sendWindow -= n;
          if (n === d.length) {
            this.conn.sendData(this.id, d);
            break;
          }
          this.conn.sendData(this.id, d.subarray(0, n));
          d = d.subarray(n);
        }
        q.shift();
      } else {
        q.shift();
        this.conn.sendHeaders(this.id, item.trailers!, true);
        this.localEndSent = true;
        if (this.remoteEnded) this.finish();
        else this.reset(ErrorCode.NO_ERROR); // RFC 9113 8.1: the response is complete
        return;
      }
    }
    this.maybeDrained();
  }

  /** Called by the connection when its socket drained (or right after `onceDrain`). */
  maybeDrained(): void {
    if (this.drainCbs === null || this.outQ.length > 0) return; // flushOut calls again once the queue empties
    if (this.conn.congested) this.conn.watchDrain(this);
    else this.fireDrain();
  }

  /** Ends the stream with RST_STREAM `code`. */
  reset(code: number): void {
    if (this.gone) return;
    this.conn.sendRst(this.id, code);
    this.close();
  }

  /** The client reset the stream, or the connection is gone. */
  close(): void {
    if (this.gone) return;
    this.gone = true;
    this.outQ = [];
    this.conn.forget(this);
    this.fireDrain();
    this.sink?.onClose();
  }

  /** Adjusts the send window after a SETTINGS_INITIAL_WINDOW_SIZE change; false on overflow. */
  adjustSendWindow(delta: number): boolean {
    this.sendWindow += delta;
    return this.sendWindow <= MAX_WINDOW;
  }

  private finish(): void {
    this.close();
  }

  private ackReceived(): void {
    const n = this.recvUnacked;
    this.recvUnacked = 0;
    this.recvWindow += n;
    this.conn.sendWindowUpdate(this.id, n);
  }

  private fireDrain(): void {
    const cbs = this.drainCbs;
    if (cbs === null) return;
    this.drainCbs = null;
    for (const cb of cbs) cb();
  }
}
