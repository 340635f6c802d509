import { describe, expect, it } from "bun:test";
import { loadProtoRoot } from "../../../lib/grpc/protos.ts";
import type { KeyValue, KvEvent } from "../mvcc/key-value.ts";
import { WatchResponseEncoder } from "./watch-encoding.ts";
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
});
