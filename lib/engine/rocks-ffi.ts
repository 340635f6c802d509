/**
 * Reads (point reads and scans) through bun:ffi instead of N-API
 * (docs/adr/0008-engine-point-reads.md): the addon hands over the addresses of its C-ABI read
 * functions (native/engine/src/ffi.rs) and we link
 * them with `linkSymbols`, so no second dlopen and no file path is needed — the same code runs
 * from the checkout and from a `bun build --compile` executable.
 *
 * A call costs a few ns instead of N-API's ~150 ns plus its typed-array argument checks. Values
 * are copied natively into a reused scratch array, then copied once more into an array the
 * caller owns. Scan pages are built natively (with an offset table) and handed over without a
 * copy when large, copied out of a scratch when small. The database is named by a numeric
 * handle checked natively on every call, so a closed or collected database fails with
 * ENGINE:Closed, never a crash.
 *
 * Disabled (N-API is used) with PHOTON_ENGINE_FFI=0, with `pointReads: "napi"` at open, or
 * when bun:ffi is unavailable.
 */
import { linkSymbols, toArrayBuffer, type Pointer } from "bun:ffi";
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
/** handle, cf, snapshot, start, startLen, end, endLen, flags, limit, maxBytes, out, outCap. */
const scanArgs = ["u32", "u32", "u32", "ptr", "u32", "ptr", "u32", "u32", "u32", "u32", "ptr", "u32"] as const;
/** Scan flags and page layout (native/engine/src/ffi.rs). */
export const SCAN_REVERSE = 1;
export const SCAN_KEYS_ONLY = 2;
const SCAN_HAS_END = 4;
/** Bytes before the first pair of a page: `count:u32 more:u32 table:u32 0:u32`. */
export const PAGE_HEADER = 16;

function link() {
  const s = native().engineFfiSymbols();
  return linkSymbols({
    get: { ptr: s.get as Pointer, args: readArgs, returns: "f64" },
    multiGet: { ptr: s.multiGet as Pointer, args: readArgs, returns: "f64" },
    scan: { ptr: s.scan as Pointer, args: scanArgs, returns: "f64" },
    scanTake: { ptr: s.scanTake as Pointer, args: ["ptr", "u32"], returns: "f64" },
    scanDetach: { ptr: s.scanDetach as Pointer, args: ["ptr"], returns: "f64" },
    pagesLive: { ptr: s.pagesLive as Pointer, args: [], returns: "f64" },
    lastError: { ptr: s.lastError as Pointer, args: ["ptr", "u32"], returns: "u32" },
  }).symbols;
}

type Symbols = ReturnType<typeof link>;
let symbols: Symbols | null | undefined;
/** Address of the native deallocator of detached pages (`photon_engine_page_free`). */
let pageFree = 0;
/**
 * bun:ffi's `toArrayBuffer` with its deallocator arguments (implemented by Bun, missing from its
 * type declarations): `deallocator(address, context)` runs when the ArrayBuffer is collected.
 */
const externalArrayBuffer = toArrayBuffer as unknown as (ptr: number, byteOffset: number, byteLength: number, context: number, deallocator: number) => ArrayBuffer;
/** Above this many bytes of detached pages alive, pages are copied instead (see scan). */
let detachedMax = 512 << 20;

/** Sets the cap on detached page bytes alive (0: always copy pages out); returns the old one. For
 * tests and tuning. */
export function setDetachedMax(bytes: number): number {
  const old = detachedMax;
  detachedMax = bytes;
  return old;
}
const slot = new Float64Array(2);

/** Scratch of point reads: values up to its size are read in one call. */
const valueScratch = new Uint8Array(64 * 1024);
let keyScratch = new Uint8Array(4096);
let packedKeysLength = 0;
let packedScratch = new Uint8Array(64 * 1024);
/** Scan pages up to this size are copied out of it (one native copy, one slice). */
const pageScratch = new Uint8Array(64 * 1024);
const noBytes = new Uint8Array(0);

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
        pageFree = native().engineFfiSymbols().pageFree;
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

/** Reads over the C ABI; `snapshot` 0 reads the latest state. */
export interface FfiReads {
  /** The value of `key` as an array the caller owns, or undefined. Throws ENGINE:* errors. */
  get(handle: number, cf: number, snapshot: number, key: Uint8Array): Uint8Array | undefined;
  /** Values of `keys` in order (each an array the caller owns; undefined where missing). */
  multiGet(handle: number, cf: number, snapshot: number, keys: Uint8Array[]): (Uint8Array | undefined)[];
  /**
   * One scan page as a new array the caller owns: `count:u32 more:u32 table:u32 0:u32`, the
   * packed pairs, then at `table` each pair's u32 offset. `start`/`end` undefined mean
   * unbounded; `limit`, `maxBytes` are u32 (0 = none); `flags` SCAN_REVERSE | SCAN_KEYS_ONLY.
   */
  scan(handle: number, cf: number, snapshot: number, start: Uint8Array | undefined, end: Uint8Array | undefined, flags: number, limit: number, maxBytes: number): Uint8Array;
  /** Bytes of scan pages handed over without a copy and not yet collected and freed. */
  detachedBytes(): number;
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

  scan(handle, cf, snapshot, start, end, flags, limit, maxBytes) {
    const s = symbols!;
    const startLen = start === undefined ? 0 : keyLength(start);
    const endLen = end === undefined ? 0 : keyLength(end);
    if (end !== undefined) flags |= SCAN_HAS_END;
    const n = s.scan(handle, cf, snapshot, start ?? noBytes, startLen, end ?? noBytes, endLen, flags, limit, maxBytes, pageScratch, pageScratch.length);
    if (n === FAILED) fail(s);
    if (n <= pageScratch.length) return pageScratch.slice(0, n);
    // A larger page waits natively. Normally it is handed over without a copy: an ArrayBuffer
    // over the native buffer, freed natively (its buffer pooled for later pages) when collected.
    // Fresh JS memory would cost the kernel's page faults and zeroing on every page (~2 ms per
    // 12 MB here), a copy ~1 ms more.
    if (s.pagesLive() + n <= detachedMax) {
      const got = s.scanDetach(slot);
      if (got === FAILED) fail(s);
      if (got !== n) throw EngineErrors.StorageError(`scan page of ${n} bytes came back as ${got}`);
      return new Uint8Array(externalArrayBuffer(slot[0]!, 0, n, slot[1]!, pageFree));
    }
    // Past the cap (pages kept alive by the caller, or a runtime that never frees them): copy it
    // once into an array of its size. Not zero-filled first (that costs as much as the copy):
    // the copy writes every byte. Its own ArrayBuffer (allocUnsafeSlow, never the shared pool),
    // so `.buffer` exposes nothing else.
    const b = Buffer.allocUnsafeSlow(n);
    const page = new Uint8Array(b.buffer, b.byteOffset, n);
    const got = s.scanTake(page, n);
    if (got === FAILED) fail(s);
    if (got !== n) throw EngineErrors.StorageError(`scan page of ${n} bytes came back as ${got}`);
    return page;
  },

  detachedBytes() {
    return symbols!.pagesLive();
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
