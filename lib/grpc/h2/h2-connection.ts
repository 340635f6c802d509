/**
 * One HTTP/2 server connection on a raw socket (RFC 9113), specialised for gRPC: it parses
 * frames, keeps the HPACK decoding context, the SETTINGS of both sides and the connection-level
 * flow control, and hands each new request stream to the server as an H2Stream.
 *
 * Output is batched: frames produced during one macrotask are written with one socket write
 * (a microtask flush), and a partial write waits for the socket's drain. Protocol errors end the
 * connection with GOAWAY (connection errors) or the stream with RST_STREAM (stream errors);
 * nothing a client sends can throw out of `onData`.
 */
import type { PeerCertificate } from "node:tls";
import type { Logger } from "../../log.ts";
import type { StreamHandler } from "../call-stream.ts";
import {
  DEFAULT_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FrameType,
  frame,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW,
  Setting,
} from "./constants.ts";
import { FrameReader, type FrameHandler } from "./frame-reader.ts";
import { FrameWriter, type H2Socket } from "./frame-writer.ts";
import { HpackDecoder, HpackError, type HeaderField } from "./hpack.ts";
import { H2Stream } from "./h2-stream.ts";
import { requestHeaders } from "./request-headers.ts";

/** Limits and callbacks of a connection. */
export interface H2ConnectionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise and enforce (REFUSED_STREAM past it). */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise: each stream's receive window. */
  initialWindowSize: number;
  /** The connection receive window we keep open (raised with WINDOW_UPDATE at the start). */
  connectionWindow: number;
  /** SETTINGS_MAX_FRAME_SIZE we accept. */
  maxFrameSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: larger request header lists end the connection. */
  maxHeaderListSize: number;
  onStream: StreamHandler;
  logger: Logger;
}

const HEADER_TABLE_SIZE = 4096;
// Flood limits: a client that makes us answer control frames (PING, SETTINGS) while it does not
// read (CVE-2019-9512/9515), or that resets streams as fast as it opens them (CVE-2023-44487),
// is cut off.
const MAX_CONTROL_REPLIES_UNREAD = 10_000;
const MAX_RESETS_PER_SECOND = 1000;

/** See the module comment. */
export class H2Connection {
  /** Peer's connection-level window for what we send. */
  sendWindow = DEFAULT_WINDOW;
  /** Peer's SETTINGS_MAX_FRAME_SIZE. */
  peerMaxFrame = DEFAULT_FRAME_SIZE;
  private peerInitialWindow = DEFAULT_WINDOW;
  private recvWindow = DEFAULT_WINDOW;
  private recvUnacked = 0;

  private readonly streams = new Map<number, H2Stream>();
  private lastStreamId = 0;
  private goawaySent = false;
  private closed = false;
  private resetWindowStart = 0;
  private repliesUnread = 0;
  private resetsInWindow = 0;

  private readonly reader: FrameReader;
  private settingsSeen = false;
  /** The client acknowledged our SETTINGS: until then it may use the default window (6.9.2). */
  private settingsAcked = false;
  private readonly decoder = new HpackDecoder(HEADER_TABLE_SIZE);
  private hbStream = 0;
  private hbParts: Buffer[] = [];
  private hbLength = 0;
  private hbEndStream = false;

  private readonly out: FrameWriter;
  private readonly windowWaiters = new Set<H2Stream>();
  private readonly drainWaiters = new Set<H2Stream>();
  private cert: PeerCertificate | null | undefined = undefined;
  /** "host:port" of the client. */
  readonly peer: string;

  constructor(
    private readonly socket: H2Socket,
    private readonly opts: H2ConnectionOptions,
    private readonly onGone: (conn: H2Connection) => void,
  ) {
    const host = socket.remoteAddress ?? "unknown";
    const port = socket.remotePort ?? 0;
    this.peer = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.out = new FrameWriter(socket, () => this.notifyDrained());
    this.reader = new FrameReader(opts.maxFrameSize);
    // Our SETTINGS go first (RFC 9113 3.4), then the connection window is opened up.
    const s = Buffer.allocUnsafe(24);
    let at = 0;
    for (const [id, v] of [
      [Setting.MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, opts.initialWindowSize],
      [Setting.MAX_FRAME_SIZE, opts.maxFrameSize],
      [Setting.MAX_HEADER_LIST_SIZE, opts.maxHeaderListSize],
    ] as const) {
      s.writeUInt16BE(id, at);
      s.writeUInt32BE(v, at + 2);
      at += 6;
    }
    this.send(frame(FrameType.SETTINGS, 0, 0, s));
    if (opts.connectionWindow > DEFAULT_WINDOW) {
      this.sendWindowUpdate(0, opts.connectionWindow - DEFAULT_WINDOW);
      this.recvWindow = opts.connectionWindow;
    }
  }

  /** The client's TLS certificate, if it sent one. */
  peerCertificate(): PeerCertificate | undefined {
    if (this.cert === undefined) {
      const c = typeof this.socket.getPeerCertificate === "function" ? this.socket.getPeerCertificate() : undefined;
      this.cert = c && Object.keys(c).length > 0 ? c : null;
    }
    return this.cert ?? undefined;
  }

  /** True while the socket has unwritten bytes (writers should wait for the drain). */
  get congested(): boolean {
    return this.out.congested;
  }

  /** Streams in flight. */
  get activeStreams(): number {
    return this.streams.size;
  }

  // ---- input ----

  /** Bytes from the socket. Never throws: errors end the stream or the connection. */
  onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.parse(chunk);
    } catch (e) {
      this.opts.logger.error("http2 connection failed", { peer: this.peer, error: (e as Error).message, stack: (e as Error).stack });
      this.connectionError(ErrorCode.INTERNAL_ERROR, "internal error");
    }
  }

  private parse(chunk: Buffer): void {
    const problem = this.reader.push(chunk, this.frameHandler);
    if (problem === "not-http2") {
      this.opts.logger.debug("not an HTTP/2 client", { peer: this.peer });
      this.closed = true;
      this.out.closed = true;
      this.out.terminate();
    } else if (problem !== null) {
      this.connectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${problem.frameTooLarge} bytes`);
    }
  }

  private readonly frameHandler: FrameHandler = (type, flags, id, payload) => {
    this.onFrame(type, flags, id, payload);
    return !this.closed;
  };

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if ((type === FrameType.PING || type === FrameType.SETTINGS) && (flags & Flag.ACK) === 0) {
      if (!this.out.congested) this.repliesUnread = 0;
      else if (++this.repliesUnread > MAX_CONTROL_REPLIES_UNREAD) {
        return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, "the client does not read the replies it asks for");
      }
    }
    if (!this.settingsSeen) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) {
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, "the first frame must be SETTINGS");
      }
      this.settingsSeen = true;
    }
    if (this.hbStream !== 0 && type !== FrameType.CONTINUATION) {
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, "header block interrupted");
    }
    switch (type) {
      case FrameType.DATA:
        return this.onDataFrame(flags, id, payload);
      case FrameType.HEADERS:
        return this.onHeaders(flags, id, payload);
      case FrameType.CONTINUATION:
        if (this.hbStream === 0 || id !== this.hbStream) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "unexpected CONTINUATION");
        return this.addFragment(payload, flags);
      case FrameType.PRIORITY:
        if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (payload.length !== 5) this.streams.get(id)?.reset(ErrorCode.FRAME_SIZE_ERROR);
        return;
      case FrameType.RST_STREAM:
        return this.onRst(id, payload);
      case FrameType.SETTINGS:
        return this.onSettings(flags, id, payload);
      case FrameType.PUSH_PROMISE:
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        if (payload.length !== 8) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, "PING of bad length");
        if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
        if ((flags & Flag.ACK) === 0) this.send(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
        // The client opens no more streams; the ones in flight finish, then it closes.
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      default:
        return; // unknown frame types are ignored (RFC 9113 5.5)
    }
  }

  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    const length = payload.length;
    if (length > this.recvWindow) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window exceeded");
    this.recvWindow -= length;
    this.recvUnacked += length;
    if (this.recvUnacked >= this.opts.connectionWindow >>> 1) {
      // The connection window is always given back: a stream's own window does the pushing back.
      const n = this.recvUnacked;
      this.recvUnacked = 0;
      this.recvWindow += n;
      this.sendWindowUpdate(0, n);
    }
    let body = payload;
    if (flags & Flag.PADDED) {
      const pad = length > 0 ? payload[0]! : 0;
      if (length === 0 || pad >= length) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "bad DATA padding");
      body = payload.subarray(1, length - pad);
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
      return; // a stream we closed or reset: frames in flight are dropped
    }
    stream.onData(body, length, (flags & Flag.END_STREAM) !== 0);
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || (id & 1) === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on a server or zero stream id");
    let start = 0;
    let end = payload.length;
    if (flags & Flag.PADDED) {
      if (end === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "bad HEADERS padding");
      const pad = payload[0]!;
      start = 1;
      if (pad > end - start) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "bad HEADERS padding");
      end -= pad;
    }
    if (flags & Flag.PRIORITY) {
      start += 5;
      if (start > end) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short");
    }
    this.hbStream = id;
    this.hbParts = [];
    this.hbLength = 0;
    this.hbEndStream = (flags & Flag.END_STREAM) !== 0;
    this.addFragment(payload.subarray(start, end), flags);
  }

  private addFragment(fragment: Buffer, flags: number): void {
    this.hbParts.push(fragment);
    this.hbLength += fragment.length;
    if (this.hbLength > this.opts.maxHeaderListSize) {
      return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
    }
    if ((flags & Flag.END_HEADERS) === 0) return;
    const block = this.hbParts.length === 1 ? this.hbParts[0]! : Buffer.concat(this.hbParts, this.hbLength);
    const id = this.hbStream;
    this.hbStream = 0;
    this.hbParts = [];
    let fields: HeaderField[];
    try {
      fields = this.decoder.decode(block, this.opts.maxHeaderListSize);
    } catch (e) {
      if (e instanceof HpackError) return this.connectionError(ErrorCode.COMPRESSION_ERROR, e.message);
      throw e;
    }
    this.onHeaderBlock(id, fields, this.hbEndStream);
  }

  private onHeaderBlock(id: number, fields: HeaderField[], endStream: boolean): void {
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers from the client: they must end the stream.
      if (!endStream || existing.remoteEnded) existing.reset(ErrorCode.PROTOCOL_ERROR);
      else existing.onEnd();
      return;
    }
    if (id <= this.lastStreamId) return; // trailers of a stream we closed or reset
    this.lastStreamId = id;
    if (this.goawaySent || this.streams.size >= this.opts.maxConcurrentStreams) {
      this.sendRst(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    const headers = requestHeaders(fields);
    if (headers === null) return this.sendRst(id, ErrorCode.PROTOCOL_ERROR);
    const local = this.opts.initialWindowSize;
    const stream = new H2Stream(this, id, this.peerInitialWindow, local, this.settingsAcked ? local : Math.max(local, DEFAULT_WINDOW));
    this.streams.set(id, stream);
    if (endStream) stream.remoteEnded = true;
    try {
      this.opts.onStream(stream, headers);
    } catch (e) {
      this.opts.logger.error("grpc stream handler failed", { peer: this.peer, error: (e as Error).message, stack: (e as Error).stack });
      stream.reset(ErrorCode.INTERNAL_ERROR);
    }
  }

  private onRst(id: number, payload: Buffer): void {
    if (payload.length !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM of bad length");
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
      return;
    }
    const now = Date.now();
    if (now - this.resetWindowStart > 1000) {
      this.resetWindowStart = now;
      this.resetsInWindow = 0;
    }
    if (++this.resetsInWindow > MAX_RESETS_PER_SECOND) return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many stream resets");
    stream.close();
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flag.ACK) {
      if (payload.length !== 0) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ack with a payload");
      this.settingsAcked = true;
      return;
    }
    if (payload.length % 6 !== 0) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS of bad length");
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (key) {
        case Setting.ENABLE_PUSH:
          if (value > 1) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "bad ENABLE_PUSH");
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large");
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) {
            if (!s.adjustSendWindow(delta)) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow");
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "bad MAX_FRAME_SIZE");
          this.peerMaxFrame = value;
          break;
        default:
          // HEADER_TABLE_SIZE: our encoder never uses the dynamic table. Others: not used.
          break;
      }
    }
    this.send(frame(FrameType.SETTINGS, Flag.ACK, 0));
    for (const s of [...this.streams.values()]) s.flushOut();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE of bad length");
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window overflow");
      const waiting = [...this.windowWaiters];
      this.windowWaiters.clear();
      for (const s of waiting) s.flushOut();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
      return;
    }
    stream.onWindowUpdate(increment);
  }

  // ---- output ----

  /** Queues response headers (split into CONTINUATION frames past the peer's frame size). */
  sendHeaders(id: number, block: Buffer, endStream: boolean): void {
    this.out.headers(id, block, endStream, this.peerMaxFrame);
  }

  /** Queues one DATA frame (the caller applied flow control and the frame size). */
  sendData(id: number, data: Buffer): void {
    this.out.data(id, data);
  }

  /** Queues RST_STREAM. */
  sendRst(id: number, code: number): void {
    this.out.u32(FrameType.RST_STREAM, id, code);
  }

  /** Queues WINDOW_UPDATE. */
  sendWindowUpdate(id: number, increment: number): void {
    this.out.u32(FrameType.WINDOW_UPDATE, id, increment);
  }

  /** A stream waits for the connection window (flushOut again on WINDOW_UPDATE). */
  waitForWindow(stream: H2Stream): void {
    this.windowWaiters.add(stream);
  }

  /** A stream waits for the socket to drain. */
  watchDrain(stream: H2Stream): void {
    this.drainWaiters.add(stream);
    if (!this.congested) queueMicrotask(() => this.notifyDrained());
  }

  /** A stream is closed: drop it from every table. */
  forget(stream: H2Stream): void {
    this.streams.delete(stream.id);
    this.windowWaiters.delete(stream);
    this.drainWaiters.delete(stream);
    if (this.goawaySent && this.streams.size === 0) this.endSoon();
  }

  /** The socket can take more. */
  onDrain(): void {
    this.out.onDrain();
  }

  private send(buf: Buffer): void {
    this.out.send(buf);
  }

  private notifyDrained(): void {
    if (this.congested) return;
    const waiting = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const s of waiting) s.maybeDrained();
  }

  // ---- ending ----

  /**
   * Graceful shutdown: GOAWAY(NO_ERROR) naming the last stream we took; later streams are
   * refused; the socket ends once the streams in flight are done.
   */
  goaway(): void {
    if (this.closed || this.goawaySent) return;
    this.sendGoaway(ErrorCode.NO_ERROR, "");
    if (this.streams.size === 0) this.endSoon();
  }

  private sendGoaway(code: number, debug: string): void {
    this.goawaySent = true;
    const d = Buffer.from(debug, "utf8");
    const p = Buffer.allocUnsafe(8 + d.length);
    p.writeUInt32BE(this.lastStreamId, 0);
    p.writeUInt32BE(code, 4);
    d.copy(p, 8);
    this.send(frame(FrameType.GOAWAY, 0, 0, p));
  }

  /** Connection error (RFC 9113 5.4.1): GOAWAY with `code`, then close. */
  connectionError(code: number, message: string): void {
    if (this.closed) return;
    this.opts.logger.debug("http2 connection error", { peer: this.peer, code, message });
    this.sendGoaway(code, message);
    this.closed = true;
    this.out.endAfterFlush();
    this.out.closed = true;
    this.closeStreams();
  }

  /**
   * After a graceful GOAWAY with no stream left: the client closes the connection (and
   * stop() waits for that, so it returns once clients know); one that does not is cut off.
   */
  private endSoon(): void {
    queueMicrotask(() => this.out.flush());
    setTimeout(() => this.out.terminate(), 5000).unref();
  }

  /**
   * Closes the connection now: open streams are closed (their calls see a cancel) and what is
   * queued is written; the client is expected to close on the GOAWAY it already has, and the
   * socket is terminated if it has not within `lingerMs`.
   */
  destroy(lingerMs = 1000): void {
    if (!this.closed) {
      this.out.flush();
      this.closed = true;
      this.out.closed = true;
    }
    this.closeStreams();
    setTimeout(() => this.out.terminate(), lingerMs).unref();
  }

  /** The socket closed (either side). */
  onSocketClose(): void {
    this.closed = true;
    this.out.markGone();
    this.closeStreams();
    this.onGone(this);
  }

  private closeStreams(): void {
    for (const s of [...this.streams.values()]) s.close();
    this.streams.clear();
  }
}
