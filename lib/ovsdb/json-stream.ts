/**
 * Splits a byte stream of back-to-back JSON texts (RFC 7047 has no framing: a connection carries
 * `{...}{...}` with optional whitespace between) into parsed values. Bytes are decoded as UTF-8 in
 * streaming mode, so a multi-byte character split across reads is handled.
 */
import { OvsdbErrors } from "./errors.ts";

/** Options of {@link JsonStreamSplitter}. */
export interface JsonStreamSplitterOptions {
  /** Largest accepted JSON text in characters; a larger one is a protocol error. Default 256 Mi. */
  maxMessageChars?: number;
}

/**
 * Incremental splitter: `push(chunk)` returns every complete top-level JSON value the chunk
 * finishes, in order. Only objects and arrays may appear at top level (JSON-RPC messages).
 * @throws PhotonError `OVSDB:ProtocolError` on a stray character, invalid JSON or an oversized text;
 *   the splitter is unusable afterwards (the caller drops the connection).
 */
export class JsonStreamSplitter {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });
  private readonly max: number;
  private buf = "";
  /** Index in `buf` where scanning resumes. */
  private pos = 0;
  /** Index of the current value's first character, -1 between values. */
  private start = -1;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(options: JsonStreamSplitterOptions = {}) {
    this.max = options.maxMessageChars ?? 256 * 1024 * 1024;
  }

  /** Feeds bytes; returns the values completed by them. */
  push(chunk: Uint8Array | string): unknown[] {
    this.buf += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: unknown[] = [];
    const s = this.buf;
    let i = this.pos;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (this.start < 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        if (c !== 0x7b && c !== 0x5b) {
          throw OvsdbErrors.ProtocolError(`unexpected character ${JSON.stringify(s[i])} between JSON-RPC messages`);
        }
        this.start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--this.depth === 0) {
          const text = s.slice(this.start, i + 1);
          try {
            out.push(JSON.parse(text));
          } catch (e) {
            throw OvsdbErrors.ProtocolError(`invalid JSON from peer: ${(e as Error).message}`, { cause: e });
          }
          this.start = -1;
        }
      }
    }
    // Drop consumed text; keep the unfinished value (if any).
    if (this.start < 0) {
      this.buf = "";
      this.pos = 0;
    } else {
      this.buf = s.slice(this.start);
      this.pos = this.buf.length;
      this.start = 0;
      if (this.buf.length > this.max) {
        throw OvsdbErrors.ProtocolError(`JSON-RPC message larger than ${this.max} characters`);
      }
    }
    return out;
  }
}
