import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../lib/native.ts";
import { decodeReady, PackWriter } from "./codec.ts";
import { fromNative } from "./errors.ts";

/** Encodes an eraftpb.Message with varint fields only (type 1, to 2, from 3, term 4, commit 8). */
function message(fields: Record<number, number>): Uint8Array {
  const out: number[] = [];
  const varint = (v: number) => {
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  for (const [f, v] of Object.entries(fields)) {
    varint(Number(f) << 3);
    varint(v);
  }
  return new Uint8Array(out);
}

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("native RaftHost boundary", () => {
  it("turns a raft panic into RAFT:Internal and refuses further work", () => {
    dir = mkdtempSync(join(tmpdir(), "raft-host-"));
    const host = native().RaftHost.open(dir, 1);
    host.createGroup(1, { voters: [1, 2] });
    // A heartbeat from the term's leader claiming a commit index far past our log: raft-rs
    // treats this as a broken invariant and panics.
    const bad = new PackWriter().u64(1).bytes(message({ 1: 8, 2: 1, 3: 2, 4: 9, 8: 1000 })).finish();
    const err = fromNative((() => { try { host.step(bad); } catch (e) { return e; } })());
    expect(err.code).toBe("RAFT:Internal");
    expect(() => host.tick()).toThrow(/\[RAFT:Internal\]/);
    host.close();
  });

  it("rejects malformed input with RAFT:InvalidArgument and keeps working", () => {
    dir = mkdtempSync(join(tmpdir(), "raft-host-"));
    const host = native().RaftHost.open(dir, 1);
    host.createGroup(1, { voters: [1] });
    expect(() => host.step(new Uint8Array([1, 2, 3]))).toThrow(/\[RAFT:InvalidArgument\]/);
    expect(() => host.createGroup(-1)).toThrow(/\[RAFT:InvalidArgument\]/);
    expect(() => host.createGroup(1)).toThrow(/\[RAFT:GroupExists\]/);
    host.campaign(1);
    expect(host.ready()).not.toBeNull();
    host.advance();
    expect(host.status(1).role).toBe(2);
    host.close();
    expect(() => host.tick()).toThrow(/\[RAFT:Closed\]/);
  });

  it("syncs the WAL on the calling thread with syncNow, after which the write commits", () => {
    dir = mkdtempSync(join(tmpdir(), "raft-host-"));
    const host = native().RaftHost.open(dir, 1, { asyncPersist: true });
    host.createGroup(1, { voters: [1] });
    host.campaign(1);
    for (let i = 0; i < 4 && host.hasReady(); i++) {
      host.ready(true);
      host.advance();
    }
    expect(host.status(1).role).toBe(2);
    host.propose(new PackWriter().u64(1).bytes(new Uint8Array(0)).bytes(new TextEncoder().encode("x")).finish());
    const written = host.ready();
    expect(written).not.toBeNull();
    expect(decodeReady(written!).groups[0]!.entries).toHaveLength(0); // not durable: not committed
    host.advance();
    expect(host.needsPersist()).toBe(true);
    const seq = host.writtenSeq();
    const syncer = host.syncer();
    expect(syncer.syncNow(seq)).toBe(seq);
    host.persisted(seq);
    expect(host.needsPersist()).toBe(false);
    const committed = decodeReady(host.ready()!).groups[0]!.entries.filter((e) => e.data.byteLength > 0);
    expect(new TextDecoder().decode(committed[0]!.data)).toBe("x");
    host.advance();
    host.close();
    expect(() => syncer.syncNow(seq)).toThrow(/\[RAFT:Closed\]/);
  });
});
