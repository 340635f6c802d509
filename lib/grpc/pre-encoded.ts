/**
 * `PreEncoded`: response bytes a handler has already serialised. Writing one skips the method's
 * encoder — for servers that send the same bytes (or the same large parts) to many streams, such
 * as a watch fanning one event out to a thousand watchers, encoding once instead of per stream is
 * what the CPU goes to. `framed` bytes already carry gRPC's 5-byte length prefixes and may hold
 * several messages back to back: one HTTP/2 write for many responses of one stream.
 * The bytes must be valid encodings of the response type.
 */
export class PreEncoded {
  private constructor(
    readonly bytes: Uint8Array,
    /** True when `bytes` are whole gRPC frames (prefix included), possibly several. */
    readonly framed: boolean,
  ) {}

  /** One serialised response message (the server adds the frame prefix). */
  static message(bytes: Uint8Array): PreEncoded {
    return new PreEncoded(bytes, false);
  }

  /** One or more complete gRPC frames, written as they are. */
  static frames(bytes: Uint8Array): PreEncoded {
    return new PreEncoded(bytes, true);
  }
}
