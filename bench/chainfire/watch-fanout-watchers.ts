/**
 * The watchers of watch-fanout.ts, in a process of their own so that receiving a flood of events
 * never delays the writer's acknowledgements (which pace the whole benchmark):
 * `bun watch-fanout-watchers.ts PORT STREAMS WATCHES_PER_STREAM EXPECTED_EVENTS OUT_FILE`.
 * Opens STREAMS Watch streams (one HTTP/2 connection each) with WATCHES_PER_STREAM watches on the
 * prefix `wf/`, prints "created" once every watch is, and then records each event's
 * (mod_revision, wall-clock ms) pair until EXPECTED_EVENTS arrived or "stop" comes on stdin. It
 * writes the pairs to OUT_FILE as float64s, prints "done R" (R: responses
 * that carried events) and exits on "exit".
 *
 * Each response is parsed only as far as needed (the created flag and each event's mod_revision),
 * the same for every server, so the client costs less than the server it measures.
 */
import { writeFileSync } from "node:fs";
import { GrpcClient, type ClientDuplex, type MethodDefinition } from "../../lib/grpc/index.ts";
import { watchService } from "../../services/chainfire/api/definitions.ts";

/** What the watchers need of a WatchResponse. */
interface WatchSeen {
  created: boolean;
  /** mod_revision of each event. */
  revisions: number[];
}

/** Reads a varint at `pos` of `b`; returns [value, next position]. */
function varint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return [v, pos];
    mul *= 0x80;
  }
}

/** Skips one field of wire type `wt` at `pos`. */
function skip(b: Uint8Array, pos: number, wt: number): number {
  if (wt === 0) return varint(b, pos)[1];
  if (wt === 2) {
    const [len, p] = varint(b, pos);
    return p + len;
  }
  if (wt === 1) return pos + 8;
  if (wt === 5) return pos + 4;
  throw new Error(`unexpected wire type ${wt}`);
}

/** mod_revision (field 3) of the KeyValue in b[pos, end). */
function modRevision(b: Uint8Array, pos: number, end: number): number {
  while (pos < end) {
    const [tag, p] = varint(b, pos);
    if (tag === 3 << 3) return varint(b, p)[0];
    pos = skip(b, p, tag & 7);
  }
  return 0;
}

/** Parses a WatchResponse just far enough: created (3) and events (11) → kv (2) → mod_revision. */
export function parseWatchResponse(b: Uint8Array): WatchSeen {
  const seen: WatchSeen = { created: false, revisions: [] };
  let pos = 0;
  while (pos < b.length) {
    const [tag, p] = varint(b, pos);
    if (tag === 3 << 3) {
      const [v, q] = varint(b, p);
      seen.created = v !== 0;
      pos = q;
    } else if (tag === ((11 << 3) | 2)) {
      const [len, q] = varint(b, p);
      const end = q + len;
      for (let e = q; e < end; ) {
        const [etag, r] = varint(b, e);
        if (etag === ((2 << 3) | 2)) {
          const [kvLen, s] = varint(b, r);
          seen.revisions.push(modRevision(b, s, s + kvLen));
          e = s + kvLen;
        } else e = skip(b, r, etag & 7);
      }
      pos = end;
    } else pos = skip(b, p, tag & 7);
  }
  return seen;
}

/** etcdserverpb.Watch/Watch with the light response parser above (requests encode as usual). */
const Watch: MethodDefinition<unknown, WatchSeen> = { ...watchService.methods.Watch!, decodeResponse: parseWatchResponse };

if (import.meta.main) {
  const [port, streamsArg, perStreamArg, expectedArg, outFile] = process.argv.slice(2);
  if (!outFile) throw new Error("usage: watch-fanout-watchers.ts PORT STREAMS WATCHES_PER_STREAM EXPECTED_EVENTS OUT_FILE");
  const [streamCount, perStream, expected] = [Number(streamsArg), Number(perStreamArg), Number(expectedArg)];
  const te = new TextEncoder();
  const clients = Array.from({ length: streamCount }, () => new GrpcClient(`http://127.0.0.1:${port}`));
  let received = new Float64Array(2 * expected + 2);
  let count = 0; // numbers in `received`
  let delivered = 0;
  let responses = 0; // with events
  let created = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const streams: ClientDuplex<unknown, WatchSeen>[] = [];
  const readers = clients.map(async (c) => {
    const s = c.bidi(Watch, {});
    streams.push(s);
    const reading = (async () => {
      try {
        for await (const msg of s) {
          if (msg.created) {
            if (++created === streamCount * perStream) console.log("created");
            continue;
          }
          const revs = msg.revisions;
          if (revs.length === 0) continue;
          const now = performance.timeOrigin + performance.now();
          if (count + 2 * revs.length > received.length) {
            const grown = new Float64Array(2 * (count + 2 * revs.length));
            grown.set(received);
            received = grown;
          }
          for (const rev of revs) {
            received[count++] = rev;
            received[count++] = now;
          }
          delivered += revs.length;
          responses++;
          if (delivered >= expected) finish();
        }
      } catch {
        // cancelled at the end
      }
    })();
    for (let i = 0; i < perStream; i++) await s.write({ createRequest: { key: te.encode("wf/"), rangeEnd: te.encode("wf0") } });
    await reading;
  });
  process.stdin.on("data", (d) => {
    if (String(d).includes("stop")) finish();
    if (String(d).includes("exit")) process.exit(0);
  });
  process.stdin.on("end", () => process.exit(0)); // the parent is gone
  await finished;
  for (const s of streams) s.cancel();
  await Promise.all(readers);
  for (const c of clients) c.close();
  writeFileSync(outFile, received.subarray(0, count));
  console.log(`done ${responses}`); // the parent reads this process's CPU time, then sends "exit"
}
