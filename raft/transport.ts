/**
 * The Raft transport between nodes: TCP (or mutually authenticated TLS when `tls` is given) with
 * length-prefixed frames (frames.ts) over Bun.listen/Bun.connect. With TLS the listener requires
 * a client certificate signed by the CA and ignores every byte until the handshake verified it,
 * and outgoing connections verify the server against the same CA and present the node's
 * certificate: a peer without a certificate of the cluster's CA cannot feed raft a message. Each node keeps ONE long-lived outbound connection per peer and sends
 * every message of a ready cycle for that peer as one frame; it receives on the connections its
 * peers opened. Raft tolerates loss, so a message for a peer that is down is dropped (and the
 * caller told, so raft backs off to probing) rather than queued without bound. Snapshots stream
 * as chunk frames on the same connection, paced by the socket's drain.
 */
import type { Socket, TCPSocketListener } from "bun";
import { PackReader, PackWriter } from "./codec.ts";
import { decodeHello, Frame, FrameDecoder, frame, helloFrame } from "./frames.ts";

/** Callbacks of the transport (all synchronous; they only queue work for the node). */
export interface TransportHandlers {
  /** A packed step buffer arrived from `from`. */
  onMessages(from: number, packed: Uint8Array): void;
  /** A whole snapshot arrived: its MsgSnapshot (without data) and the reassembled data. */
  onSnapshot(from: number, groupId: number, message: Uint8Array, data: Uint8Array): void;
  /** A peer announced (or changed) its listen address. */
  onPeerAddress(nodeId: number, address: string): void;
  /** Messages to `to` were dropped because it is unreachable. */
  onUnreachable(to: number): void;
}

/** Options of `Transport.listen`. */
export interface TransportOptions {
  nodeId: number;
  /** Listen host; default 127.0.0.1. */
  hostname?: string;
  /** Listen port; 0 (default) picks a free one. */
  port?: number;
  /** Bytes buffered per peer before messages are dropped; default 64 MiB. */
  maxQueueBytes?: number;
  /** Snapshot chunk size; default 1 MiB. */
  snapshotChunkBytes?: number;
  /** Wait after a failed connect before trying again; default 200 ms. */
  reconnectMs?: number;
  /** Mutual TLS (PEM contents); plaintext without it. */
  tls?: TransportTls;
}

/** PEM material of the transport's mutual TLS. */
export interface TransportTls {
  /** This node's certificate (presented to peers as server and as client). */
  cert: string;
  key: string;
  /** The CA peers' certificates must be signed by. */
  ca: string;
}

interface InboundState {
  /** False until a TLS handshake verified the peer's certificate (always true in plaintext). */
  trusted: boolean;
  from: number;
  decoder: FrameDecoder;
  streams: Map<number, { groupId: number; message: Uint8Array; chunks: Uint8Array[] }>;
}

/** One outbound connection to a peer, reconnected on demand. */
class PeerLink {
  private socket: Socket<undefined> | undefined;
  private connecting = false;
  private downUntil = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private drainWaiters: (() => void)[] = [];
  /** Bumped whenever the connection is lost: snapshot streams abort on a change. */
  generation = 0;
  closed = false;

  constructor(
    private readonly owner: Transport,
    readonly nodeId: number,
    public address: string,
  ) {}

  /** Queues a frame and writes what the socket takes; false when the peer is down. */
  send(f: Uint8Array): boolean {
    if (this.closed) return false;
    if (!this.socket) {
      if (Date.now() < this.downUntil) return false;
      this.connect();
    }
    if (this.queued + f.byteLength > this.owner.maxQueueBytes) return false;
    this.queue.push(f);
    this.queued += f.byteLength;
    this.flush();
    return true;
  }

  /** Bytes accepted but not yet written to the socket. */
  get backlog(): number {
    return this.queued;
  }

  /** Resolves when the queue is below `bytes` (or rejects if the connection is lost). */
  async waitBelow(bytes: number): Promise<void> {
    const gen = this.generation;
    while (this.queued > bytes) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      if (gen !== this.generation || this.closed) throw new Error(`connection to node ${this.nodeId} lost`);
    }
  }

  private connect(): void {
    if (this.connecting || this.closed) return;
    const [hostname, portText] = splitAddress(this.address);
    this.connecting = true;
    const gen = this.generation;
    const tls = this.owner.tls;
    // True until this attempt is either in use or given up (once only).
    let pending = true;
    const fail = () => {
      if (!pending) return;
      pending = false;
      this.connecting = false;
      this.lost();
    };
    // Starts using the connection: on open in plaintext, once the server is verified with TLS.
    const ready = (s: Socket<undefined>) => {
      if (!pending) return;
      pending = false;
      this.connecting = false;
      if (this.closed || gen !== this.generation) {
        s.end();
        return;
      }
      s.setNoDelay(true);
      this.socket = s;
      this.queue.unshift(this.owner.hello());
      this.queued += this.queue[0]!.byteLength;
      this.flush();
    };
    Bun.connect({
      hostname,
      port: Number(portText),
      ...(tls ? { tls: { cert: tls.cert, key: tls.key, ca: tls.ca, rejectUnauthorized: true } } : {}),
      socket: {
        open: (s) => {
          if (!tls) ready(s);
        },
        handshake: (s, success, authorizationError) => {
          if (!tls) return;
          if (!success || authorizationError || !s.authorized) {
            // The server's certificate is not of the cluster's CA (or the handshake failed).
            fail();
            s.end();
            return;
          }
          ready(s);
        },
        drain: () => this.flush(),
        data: () => {},
        close: (s) => {
          if (this.socket === s) this.lost();
          else fail();
        },
        error: (s) => {
          if (this.socket === s) this.lost();
          else fail();
        },
        connectError: () => fail(),
      },
    }).catch(() => fail());
  }

  private flush(): void {
    const s = this.socket;
    if (!s) return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = s.write(head);
      if (n < 0) {
        this.lost();
        return;
      }
      this.queued -= Math.max(0, n);
      if (n < head.byteLength) {
        this.queue[0] = head.subarray(n);
        return;
      }
      this.queue.shift();
    }
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private lost(): void {
    const hadWork = this.queue.length > 0;
    this.socket = undefined;
    this.queue = [];
    this.queued = 0;
    this.generation++;
    this.downUntil = Date.now() + this.owner.reconnectMs;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
    if (hadWork && !this.closed) this.owner.handlers.onUnreachable(this.nodeId);
  }

  /** Points the link at a new address (the next send reconnects there). */
  retarget(address: string): void {
    if (address === this.address) return;
    this.address = address;
    this.downUntil = 0;
    if (this.socket) {
      const s = this.socket;
      this.lost();
      s.end();
    }
  }

  close(): void {
    this.closed = true;
    const s = this.socket;
    this.lost();
    s?.end();
  }
}

/** The transport of one node. Create with `Transport.listen`; `close()` releases everything. */
export class Transport {
  readonly maxQueueBytes: number;
  readonly reconnectMs: number;
  private readonly chunkBytes: number;
  private readonly peers = new Map<number, PeerLink>();
  private readonly inbound = new Set<Socket<InboundState>>();
  private nextStream = 1;
  private helloBytes: Uint8Array | undefined;
  /** Mutual TLS material; undefined in plaintext. */
  readonly tls: TransportTls | undefined;

  private constructor(
    readonly nodeId: number,
    private readonly listener: TCPSocketListener<InboundState>,
    readonly handlers: TransportHandlers,
    options: TransportOptions,
  ) {
    this.maxQueueBytes = options.maxQueueBytes ?? 64 << 20;
    this.reconnectMs = options.reconnectMs ?? 200;
    this.chunkBytes = options.snapshotChunkBytes ?? 1 << 20;
    this.tls = options.tls;
  }

  /**
   * Starts listening. Inbound connections must open with a Hello frame.
   * @example
   * const t = await Transport.listen({ nodeId: 1 }, handlers);
   * t.setPeer(2, "127.0.0.1:7002");
   */
  static async listen(options: TransportOptions, handlers: TransportHandlers): Promise<Transport> {
    let self: Transport | undefined;
    const tls = options.tls;
    const listener = Bun.listen<InboundState>({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true } } : {}),
      socket: {
        open(s) {
          s.data = { trusted: !tls, from: 0, decoder: new FrameDecoder(), streams: new Map() };
          s.setNoDelay(true);
          self?.inbound.add(s);
        },
        handshake(s, success, authorizationError) {
          if (!tls) return;
          // A peer without a certificate of the CA never gets a frame decoded.
          if (success && !authorizationError && s.authorized) s.data.trusted = true;
          else s.end();
        },
        data(s, chunk) {
          if (!s.data.trusted) {
            s.end();
            return;
          }
          try {
            s.data.decoder.push(chunk, (type, payload) => self?.onFrame(s.data, type, payload));
          } catch {
            s.end();
          }
        },
        close(s) {
          self?.inbound.delete(s);
        },
        error(s) {
          self?.inbound.delete(s);
        },
      },
    });
    self = new Transport(options.nodeId, listener, handlers, options);
    return self;
  }

  /** The listen address, `host:port`. */
  get address(): string {
    return `${this.listener.hostname}:${this.listener.port}`;
  }

  /** Sets (or changes) where peer `nodeId` listens. */
  setPeer(nodeId: number, address: string): void {
    if (nodeId === this.nodeId) return;
    const p = this.peers.get(nodeId);
    if (p) p.retarget(address);
    else this.peers.set(nodeId, new PeerLink(this, nodeId, address));
  }

  /** How many peers are known. */
  get peerCount(): number {
    return this.peers.size;
  }

  /** Known peers and their addresses. */
  peerAddresses(): Map<number, string> {
    return new Map([...this.peers].map(([id, p]) => [id, p.address]));
  }

  /**
   * Sends a packed step buffer to `to` as one frame. Returns false (and sends nothing) when
   * the peer is unknown, down, or too far behind.
   */
  send(to: number, packed: Uint8Array): boolean {
    const p = this.peers.get(to);
    return p ? p.send(frame(Frame.Messages, packed)) : false;
  }

  /**
   * Streams a snapshot to `to` in chunks, pacing on the socket. Resolves once every chunk was
   * handed to the kernel; rejects when the peer is unknown or the connection drops.
   */
  async sendSnapshot(to: number, groupId: number, message: Uint8Array, data: Uint8Array): Promise<void> {
    const p = this.peers.get(to);
    if (!p) throw new Error(`unknown peer ${to}`);
    const stream = this.nextStream++;
    const id = new PackWriter().u64(stream).finish().slice();
    const gen = p.generation;
    const check = (ok: boolean) => {
      if (!ok || p.generation !== gen) throw new Error(`snapshot stream to node ${to} failed`);
    };
    check(p.send(frame(Frame.SnapBegin, new PackWriter().u64(stream).u64(groupId).bytes(message).finish())));
    for (let at = 0; at < data.byteLength; at += this.chunkBytes) {
      await p.waitBelow(this.chunkBytes * 4);
      check(p.send(frame(Frame.SnapChunk, id, data.subarray(at, Math.min(data.byteLength, at + this.chunkBytes)))));
    }
    check(p.send(frame(Frame.SnapEnd, id)));
    await p.waitBelow(0);
    check(true);
  }

  /** The Hello frame this node opens its connections with. */
  hello(): Uint8Array {
    this.helloBytes ??= helloFrame(this.nodeId, this.address);
    return this.helloBytes;
  }

  private onFrame(c: InboundState, type: number, payload: Uint8Array): void {
    switch (type) {
      case Frame.Hello: {
        const h = decodeHello(payload);
        c.from = h.nodeId;
        this.handlers.onPeerAddress(h.nodeId, h.address);
        return;
      }
      case Frame.Messages:
        if (c.from) this.handlers.onMessages(c.from, payload);
        return;
      case Frame.SnapBegin: {
        const r = new PackReader(payload);
        const stream = r.u64();
        const groupId = r.u64();
        c.streams.set(stream, { groupId, message: r.bytes(), chunks: [] });
        return;
      }
      case Frame.SnapChunk: {
        const stream = new PackReader(payload).u64();
        c.streams.get(stream)?.chunks.push(payload.subarray(8));
        return;
      }
      case Frame.SnapEnd: {
        const stream = new PackReader(payload).u64();
        const s = c.streams.get(stream);
        if (!s) return;
        c.streams.delete(stream);
        let size = 0;
        for (const ch of s.chunks) size += ch.byteLength;
        const data = new Uint8Array(size);
        let at = 0;
        for (const ch of s.chunks) {
          data.set(ch, at);
          at += ch.byteLength;
        }
        if (c.from) this.handlers.onSnapshot(c.from, s.groupId, s.message, data);
        return;
      }
    }
  }

  /** Stops listening and closes every connection. Idempotent. */
  close(): void {
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    for (const s of this.inbound) s.end();
    this.inbound.clear();
    this.listener.stop(true);
  }
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(":");
  if (i <= 0) throw new Error(`bad address ${address}`);
  return [address.slice(0, i).replace(/^\[|\]$/g, ""), address.slice(i + 1)];
}
