/**
 * A raw HTTP/2 client for the transport's protocol tests: writes frames byte by byte (so tests
 * can send what no real client would) and records every frame the server sends.
 */
import net from "node:net";
import { PREFACE, frame } from "../constants.ts";
import { encodeHeaders, HpackDecoder } from "../hpack.ts";

/** A frame received from the server. */
export interface RxFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** See the module comment. */
export class RawH2Client {
  readonly frames: RxFrame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private readonly decoder = new HpackDecoder();
  private waiters: (() => void)[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({ type: this.buf[3]!, flags: this.buf[4]!, id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
        this.buf = this.buf.subarray(9 + len);
      }
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
  }

  /** Connects; with `handshake` sends the preface and an empty SETTINGS (or `settings`). */
  static async connect(port: number, handshake = true, settings: [number, number][] = []): Promise<RawH2Client> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
    const c = new RawH2Client(sock);
    if (handshake) {
      c.raw(PREFACE);
      c.settings(settings);
    }
    return c;
  }

  raw(bytes: Uint8Array): void {
    this.sock.write(bytes);
  }

  send(type: number, flags: number, id: number, payload?: Uint8Array): void {
    this.raw(frame(type, flags, id, payload));
  }

  settings(values: [number, number][]): void {
    const p = Buffer.alloc(values.length * 6);
    values.forEach(([k, v], i) => {
      p.writeUInt16BE(k, i * 6);
      p.writeUInt32BE(v, i * 6 + 2);
    });
    this.send(4, 0, 0, p);
  }

  windowUpdate(id: number, increment: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(increment);
    this.send(8, 0, id, p);
  }

  /** The request header block of a gRPC call to `path`. */
  static requestBlock(path: string, extra: [string, string][] = []): Buffer {
    return encodeHeaders([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", path],
      [":authority", "localhost"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
      ...extra,
    ]);
  }

  /** Decodes a HEADERS payload (no padding/priority: our server never sends them). */
  decodeHeaders(f: RxFrame): Record<string, string> {
    return Object.fromEntries(this.decoder.decode(f.payload));
  }

  /** Resolves when `pred` holds for the frames so far (or rejects after `ms`). */
  async until(pred: (frames: RxFrame[]) => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.frames)) {
      if (Date.now() > end) throw new Error(`timed out; frames: ${this.frames.map((f) => `${f.type}/${f.flags}/${f.id}`).join(" ")}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  /** The GOAWAY the server sent: [last stream id, error code], or undefined. */
  goaway(): [number, number] | undefined {
    const g = this.frames.find((f) => f.type === 7);
    return g ? [g.payload.readUInt32BE(0), g.payload.readUInt32BE(4)] : undefined;
  }

  /** RST_STREAM codes the server sent for stream `id`. */
  resets(id: number): number[] {
    return this.frames.filter((f) => f.type === 3 && f.id === id).map((f) => f.payload.readUInt32BE(0));
  }

  close(): void {
    this.sock.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
