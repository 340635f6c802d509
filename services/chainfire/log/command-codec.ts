/**
 * How commands and their results travel through the Raft log and between members: JSON with
 * byte strings tagged as `{"$b": base64}`. Small, deterministic, and readable in a log dump;
 * a binary encoding can replace it behind these two functions.
 */

const te = new TextEncoder();
const td = new TextDecoder();

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // JSON.stringify hands a Buffer to its toJSON() before the replacer: look at the raw value.
  const raw = this[key];
  if (raw instanceof Uint8Array) return { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64") };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && "$b" in value && Object.keys(value).length === 1) {
    const b = Buffer.from((value as { $b: string }).$b, "base64");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return value;
}

/** Encodes a command (or a result) to bytes. */
export function encodeMessage(value: unknown): Uint8Array {
  return te.encode(JSON.stringify(value, replacer));
}

/** Decodes bytes written by encodeMessage. */
export function decodeMessage<T>(bytes: Uint8Array): T {
  return JSON.parse(td.decode(bytes), reviver) as T;
}
