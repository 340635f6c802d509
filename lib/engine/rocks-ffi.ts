/**
 * Point reads through bun:ffi instead of N-API (docs/adr/0008-engine-point-reads.md): the addon
 * hands over the addresses of its C-ABI read functions (native/engine/src/ffi.rs) and we link
 * them with `linkSymbols`, so no second dlopen and no file path is needed — the same code runs
 * from the checkout and from a `bun build --compile` executable.
 *
 * A call costs a few ns instead of N-API's ~150 ns plus its typed-array argument checks. Values
 * are copied natively into a reused scratch array, then copied once more into an array the
 * caller owns. The database is named by a numeric handle checked natively on every call, so a
 * closed or collected database fails with ENGINE:Closed, never a crash.
 *
 * Disabled (N-API is used) with PHOTON_ENGINE_FFI=0, with `pointReads: "napi"` at open, or
 * when bun:ffi is unavailable.
 */
import { linkSymbols, type Pointer } from "bun:ffi";
import { native } from "../native.ts";
import { EngineErrors, fromNative } from "./errors.ts";

/** C-ABI results (native/engine/src/ffi.rs). */
const MISSING = -1;
const FAILED = -2;
/** Packed multi-get marker of a missing value. */
const MISSING_LEN = 0xffffffff;
/** Scratch arrays above this size are not kept between calls. */
const KEEP_BYTES = 1 << 20;

const readArgs = ["u32", "u32", "u32", "ptr", "u32", "ptr", "u32"] as const;

function link() {
  const s = native().engineFfiSymbols();
  return linkSymbols({
    get: { ptr: s.get as Pointer, args: readArgs, returns: "f64" },
    multiGet: { ptr: s.multiGet as Pointer, args: readArgs, returns: "f64" },
    lastError: { ptr: s.lastError as Pointer, args: ["ptr", "u32"], returns: "u32" },
  }).symbols;
}

type Symbols = ReturnType<typeof link>;
let symbols: Symbols | null | undefined;

/** Scratch of point reads: values up to its size are read in one call. */
const valueScratch = new Uint8Array(64 * 1024);
let keyScratch = new Uint8Array(4096);
let packedKeysLength = 0;
let packedScratch = new Uint8Array(64 * 1024);

/**
 * The FFI point reads, or undefined when disabled or unavailable (callers then use N-API).
 * Linked on first use.
 */
export function ffiReads(): FfiReads | undefined {
  if (symbols === undefined) {
    symbols = null;
    if (process.env.PHOTON_ENGINE_FFI !== "0") {
      try {
        symbols = link();
      } catch {
        symbols = null; // no bun:ffi (or no compiler for its trampolines): N-API it is
      }
    }
  }
  return symbols ? reads : undefined;
}

/** Throws the PhotonError of the last failed call on this thread. */
function fail(s: Symbols): never {
  const buf = new Uint8Array(1024);
  const n = s.lastError(buf, buf.length);
  throw fromNative(new Error(new TextDecoder().decode(buf.subarray(0, Math.min(n, buf.length)))));
}

/** The engine's own byteLength getter: a subclass cannot lie about the length native code reads. */
const byteLengthOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "byteLength")!.get!;

/** The key's true length in bytes; throws ENGINE:InvalidArgument for anything but a Uint8Array. */
function keyLength(key: unknown): number {
  // bun:ffi would take a number as a raw address: only typed arrays may reach a "ptr" argument.
  if (!(key instanceof Uint8Array)) throw EngineErrors.InvalidArgument("key must be a Uint8Array");
  try {
    return byteLengthOf.call(key) as number;
  } catch {
    throw EngineErrors.InvalidArgument("key must be a Uint8Array"); // e.g. a Proxy of one
  }
}

/** Point reads over the C ABI; `snapshot` 0 reads the latest state. */
export interface FfiReads {
  /** The value of `key` as an array the caller owns, or undefined. Throws ENGINE:* errors. */
  get(handle: number, cf: number, snapshot: number, key: Uint8Array): Uint8Array | undefined;
  /** Values of `keys` in order (each an array the caller owns; undefined where missing). */
  multiGet(handle: number, cf: number, snapshot: number, keys: Uint8Array[]): (Uint8Array | undefined)[];
}

const reads: FfiReads = {
  get(handle, cf, snapshot, key) {
    const keyLen = keyLength(key);
    const s = symbols!;
    let out = valueScratch;
    for (;;) {
      const n = s.get(handle, cf, snapshot, key, keyLen, out, out.length);
      if (n === MISSING) return undefined;
      if (n === FAILED) fail(s);
      if (n <= out.length) return out === valueScratch ? out.slice(0, n) : out.subarray(0, n);
      out = new Uint8Array(n); // larger than the scratch: read again into an exact array
    }
  },

  multiGet(handle, cf, snapshot, keys) {
    const s = symbols!;
    const packed = packKeys(keys);
    let out = packedScratch;
    for (;;) {
      const n = s.multiGet(handle, cf, snapshot, packed, packedKeysLength, out, out.length);
      if (n === FAILED) fail(s);
      if (n <= out.length) break;
      out = new Uint8Array(n);
      if (n <= KEEP_BYTES) packedScratch = out;
    }
    return unpackValues(out, keys.length);
  },
};

/**
 * Packs `keys` (`len:u32le key`) into the key scratch (grown as needed; a one-off array when
 * very large) and returns that buffer; `packedKeysLength` is set to the packed length.
 */
function packKeys(keys: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const k of keys) size += 4 + keyLength(k);
  let buf = keyScratch;
  if (size > buf.length) {
    buf = new Uint8Array(Math.max(size, buf.length * 2));
    if (buf.length <= KEEP_BYTES) keyScratch = buf;
  }
  let pos = 0;
  for (const k of keys) {
    const n = byteLengthOf.call(k) as number;
    buf[pos] = n;
    buf[pos + 1] = n >>> 8;
    buf[pos + 2] = n >>> 16;
    buf[pos + 3] = n >>> 24;
    pos += 4;
    // A plain loop beats TypedArray#set for short keys in Bun.
    if (n <= 32) for (let i = 0; i < n; i++) buf[pos + i] = k[i]!;
    else buf.set(k, pos);
    pos += n;
  }
  packedKeysLength = pos;
  return buf;
}

/** Copies each packed value out of `data` into its own array. */
function unpackValues(data: Uint8Array, count: number): (Uint8Array | undefined)[] {
  const out = new Array<Uint8Array | undefined>(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const len = (data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16) | (data[pos + 3]! << 24)) >>> 0;
    pos += 4;
    if (len === MISSING_LEN) {
      out[i] = undefined;
    } else {
      out[i] = data.slice(pos, pos + len);
      pos += len;
    }
  }
  return out;
}
