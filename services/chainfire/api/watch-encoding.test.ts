import { describe, expect, it } from "bun:test";
import { loadProtoRoot } from "../../../lib/grpc/protos.ts";
import type { KeyValue, KvEvent } from "../mvcc/key-value.ts";
import { FrameBatch, WatchResponseEncoder } from "./watch-encoding.ts";
import { wireEvent } from "./wire.ts";

const WatchResponse = loadProtoRoot("etcd/rpc.proto").lookupType("etcdserverpb.WatchResponse");
const te = new TextEncoder();
const kv = (key: string, rev: number, value = "v"): KeyValue => ({ key: te.encode(key), createRevision: 2, modRevision: rev, version: rev - 1, value: te.encode(value), lease: rev % 2 ? 0 : 7587 });

describe("WatchResponseEncoder", () => {
  it("writes what protobufjs writes for the same response, with cached parts reused", () => {
    const enc = new WatchResponseEncoder();
    const a = kv("a", 5), b = kv("b/x", 6, "x".repeat(300));
    const cases: { header: { clusterId: number; memberId: number; revision: number; raftTerm: number }; watchId: number; events: KvEvent[] }[] = [
      { header: { clusterId: 123456789, memberId: 987654321, revision: 6, raftTerm: 2 }, watchId: 0, events: [{ type: "PUT", kv: a }] },
      { header: { clusterId: 123456789, memberId: 987654321, revision: 6, raftTerm: 2 }, watchId: 2 ** 40 + 3, events: [{ type: "PUT", kv: a }, { type: "DELETE", kv: b }] },
      { header: { clusterId: 123456789, memberId: 987654321, revision: 9, raftTerm: 3 }, watchId: 3, events: [{ type: "PUT", kv: a, prevKv: kv("a", 4, "old") }] },
      { header: { clusterId: 1, memberId: 2, revision: 10, raftTerm: 3 }, watchId: 4, events: [] },
    ];
    for (const c of cases) {
      for (let round = 0; round < 2; round++) { // the second round comes from the caches
        const frame = enc.frame(c.header, c.watchId, c.events);
        expect(frame[0]).toBe(0); // uncompressed
        expect(new DataView(frame.buffer).getUint32(1)).toBe(frame.length - 5);
        const mine = WatchResponse.toObject(WatchResponse.decode(frame.subarray(5)), { longs: Number, defaults: true });
        const ref = WatchResponse.toObject(WatchResponse.decode(WatchResponse.encode({ header: c.header, watchId: c.watchId, events: c.events.map(wireEvent) }).finish()), { longs: Number, defaults: true });
        expect(mine).toEqual(ref);
      }
    }
  });

  it("appends frames for many watchers into one batch, sharing an events array's encoding only with that array", () => {
    const enc = new WatchResponseEncoder();
    const batch = new FrameBatch();
    const shared: KvEvent[] = [{ type: "PUT", kv: kv("s/1", 7) }, { type: "PUT", kv: kv("s/2", 8, "y".repeat(5000)) }];
    const other: KvEvent[] = [{ type: "DELETE", kv: kv("s/1", 9) }];
    const sent: { header: { clusterId: number; memberId: number; revision: number; raftTerm: number }; watchId: number; events: KvEvent[] }[] = [];
    for (let w = 0; w < 50; w++) sent.push({ header: { clusterId: 1, memberId: 2, revision: 8, raftTerm: 1 }, watchId: w * 1000, events: shared });
    sent.push({ header: { clusterId: 1, memberId: 2, revision: 9, raftTerm: 1 }, watchId: 3, events: other });
    sent.push({ header: { clusterId: 1, memberId: 2, revision: 9, raftTerm: 2 }, watchId: 4, events: [...shared] }); // same content, another array
    for (const m of sent) enc.append(batch, m.header, m.watchId, m.events);
    const bytes = batch.take(); // grown past its first buffer on the way
    expect(batch.length).toBe(0);
    const got: unknown[] = [];
    for (let pos = 0; pos < bytes.length; ) {
      const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(pos + 1);
      got.push(WatchResponse.toObject(WatchResponse.decode(bytes.subarray(pos + 5, pos + 5 + size)), { longs: Number, defaults: true }));
      pos += 5 + size;
    }
    const want = sent.map((m) => WatchResponse.toObject(WatchResponse.decode(WatchResponse.encode({ header: m.header, watchId: m.watchId, events: m.events.map(wireEvent) }).finish()), { longs: Number, defaults: true }));
    expect(got).toEqual(want);
  });
});
