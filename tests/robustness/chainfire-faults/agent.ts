/**
 * The client side of the fault tests, run as its own process inside the lab's client network
 * namespace (`ip netns exec <client-ns> bun agent.ts`), since the test process stays in the root
 * namespace, whose network it must not touch. It speaks line-delimited JSON on stdin/stdout:
 * `{"id":1,"cmd":"status","endpoints":[...]}` → `{"id":1,"ok":true,"result":...}`.
 *
 * Commands: status, members, memberRemove, startLoad, stopLoad, finalReads, history, watch.
 * The load is N concurrent clients, each with its own connection (GrpcClient) to a member, doing
 * put / linearizable get / CAS (a Txn comparing the value it last read) on a few keys and
 * recording every operation with its call and return times (one clock: this process's). An
 * operation whose outcome is unknown (error, timeout) keeps return = Infinity; a failed read is
 * dropped (it constrains nothing). A client that fails moves on to the next member.
 */
import { createInterface } from "node:readline";
import { GrpcClient } from "../../../lib/grpc/index.ts";
import { clusterService, kvService, maintenanceService, watchService } from "../../../services/chainfire/api/definitions.ts";
import { num, type Int64 } from "../../../services/chainfire/api/wire.ts";
import type { Operation } from "../linearizability/checker.ts";
import type { KvInput, KvOutput } from "../linearizability/kv-model.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const { Put, Range, Txn } = kvService.methods as Record<string, NonNullable<(typeof kvService.methods)[string]>>;

/** A put the cluster acknowledged, with the revision it got. */
export interface Acked {
  key: string;
  value: string;
  revision: number;
}

/** One watch event as the tests compare them: [revision, PUT|DELETE, key, value]. */
export type WatchEvent = [number, "PUT" | "DELETE", string, string];

/** Options of startLoad. */
export interface LoadOptions {
  endpoints: string[];
  clients: number;
  keys: string[];
  /** Per-call deadline (ms). */
  timeoutMs: number;
  /** Serializable (local, possibly stale) reads: the negative control that must fail the check. */
  serializableReads?: boolean;
}

const history: Operation<KvInput, KvOutput>[] = [];
const acked: Acked[] = [];
let running: { stop: boolean; loops: Promise<void>[] } | undefined;
let seq = 0;

function client(endpoint: string, timeoutMs: number): GrpcClient {
  return new GrpcClient(endpoint, { defaultTimeoutMs: timeoutMs });
}

async function loop(id: number, o: LoadOptions, state: { stop: boolean }): Promise<void> {
  let at = id % o.endpoints.length;
  let c = client(o.endpoints[at]!, o.timeoutMs);
  const lastSeen = new Map<string, string | null>();
  const fail = async () => {
    c.close();
    at = (at + 1) % o.endpoints.length;
    c = client(o.endpoints[at]!, o.timeoutMs);
    await Bun.sleep(20 + Math.random() * 80);
  };
  while (!state.stop) {
    const key = o.keys[Math.floor(Math.random() * o.keys.length)]!;
    const r = Math.random();
    const call = performance.now();
    if (r < 0.4) {
      const value = `p${id}-${seq++}`;
      const op: Operation<KvInput, KvOutput> = { clientId: id, input: { op: "put", key, value }, output: undefined, call, return: Infinity };
      history.push(op);
      try {
        const res = (await c.unary(Put!, { key: te.encode(key), value: te.encode(value) })) as { header: { revision: Int64 } };
        op.output = { ok: true };
        op.return = performance.now();
        acked.push({ key, value, revision: num(res.header.revision) });
      } catch {
        await fail();
      }
    } else if (r < 0.8) {
      try {
        const res = (await c.unary(Range!, { key: te.encode(key), serializable: !!o.serializableReads })) as { kvs?: { value: Uint8Array }[] };
        const value = res.kvs?.[0] ? td.decode(res.kvs[0].value) : null;
        lastSeen.set(key, value);
        history.push({ clientId: id, input: { op: "get", key }, output: { value }, call, return: performance.now() });
      } catch {
        await fail();
      }
    } else {
      const expect = lastSeen.get(key) ?? null;
      const value = `c${id}-${seq++}`;
      const op: Operation<KvInput, KvOutput> = { clientId: id, input: { op: "cas", key, expect, value }, output: undefined, call, return: Infinity };
      history.push(op);
      const compare = expect === null
        ? { key: te.encode(key), target: 1 /* CREATE */, result: 0 /* EQUAL */, createRevision: 0 }
        : { key: te.encode(key), target: 3 /* VALUE */, result: 0 /* EQUAL */, value: te.encode(expect) };
      try {
        const res = (await c.unary(Txn!, { compare: [compare], success: [{ requestPut: { key: te.encode(key), value: te.encode(value) } }], failure: [] })) as {
          succeeded?: boolean;
          header: { revision: Int64 };
        };
        op.output = { succeeded: !!res.succeeded };
        op.return = performance.now();
        if (res.succeeded) {
          acked.push({ key, value, revision: num(res.header.revision) });
          lastSeen.set(key, value);
        }
      } catch {
        await fail();
      }
    }
  }
  c.close();
}

/** Linearizable reads of every key until each succeeds once (recorded as client 10_000's). */
async function finalReads(endpoints: string[], keys: string[], deadlineMs: number): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = Object.create(null);
  const deadline = performance.now() + deadlineMs;
  let at = 0;
  for (const key of keys) {
    for (;;) {
      const c = client(endpoints[at % endpoints.length]!, 2_000);
      const call = performance.now();
      try {
        const res = (await c.unary(Range!, { key: te.encode(key) })) as { kvs?: { value: Uint8Array }[] };
        const value = res.kvs?.[0] ? td.decode(res.kvs[0].value) : null;
        history.push({ clientId: 10_000, input: { op: "get", key }, output: { value }, call, return: performance.now() });
        out[key] = value;
        break;
      } catch (e) {
        if (performance.now() > deadline) throw e;
        at++;
        await Bun.sleep(100);
      } finally {
        c.close();
      }
    }
  }
  return out;
}

/** Every event from revision 1 on every key, until `toRevision` has been delivered. */
async function watchAll(endpoint: string, toRevision: number, timeoutMs: number): Promise<WatchEvent[]> {
  const c = new GrpcClient(endpoint);
  const w = c.bidi(watchService.methods.Watch!);
  const events: WatchEvent[] = [];
  const timer = setTimeout(() => w.cancel(), timeoutMs);
  try {
    await w.write({ createRequest: { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), startRevision: 1 } });
    let last = 0;
    for await (const msg of w as AsyncIterable<{ events?: { type?: number; kv: { key: Uint8Array; modRevision: Int64; value?: Uint8Array } }[]; canceled?: boolean; cancelReason?: string }>) {
      if (msg.canceled) throw new Error(`watch canceled: ${msg.cancelReason ?? ""}`);
      for (const ev of msg.events ?? []) {
        last = num(ev.kv.modRevision);
        events.push([last, ev.type === 1 || (ev.type as unknown) === "DELETE" ? "DELETE" : "PUT", td.decode(ev.kv.key), td.decode(ev.kv.value ?? new Uint8Array())]);
      }
      if (last >= toRevision) break;
    }
    if (last < toRevision) throw new Error(`watch on ${endpoint} ended at revision ${last} before ${toRevision}`);
    return events;
  } finally {
    clearTimeout(timer);
    w.cancel();
    c.close();
  }
}

async function status(endpoints: string[]): Promise<({ memberId: string; leader: string; raftTerm: number; revision: number; raftIndex: number } | null)[]> {
  return Promise.all(
    endpoints.map(async (e) => {
      const c = client(e, 1_000);
      try {
        const s = (await c.unary(maintenanceService.methods.Status!, {})) as { header: { memberId: Int64; revision: Int64 }; leader: Int64; raftTerm: Int64; raftIndex: Int64 };
        return { memberId: num(s.header.memberId).toString(16), leader: num(s.leader).toString(16), raftTerm: num(s.raftTerm), revision: num(s.header.revision), raftIndex: num(s.raftIndex) };
      } catch {
        return null;
      } finally {
        c.close();
      }
    }),
  );
}

type Request = { id: number; cmd: string } & Record<string, unknown>;

async function handle(req: Request): Promise<unknown> {
  switch (req.cmd) {
    case "status":
      return status(req.endpoints as string[]);
    case "members": {
      const c = client(req.endpoint as string, 2_000);
      try {
        const r = (await c.unary(clusterService.methods.MemberList!, {})) as { members?: { ID: Int64; name?: string; isLearner?: boolean; clientURLs?: string[] }[] };
        return (r.members ?? []).map((m) => ({ id: num(m.ID).toString(16), name: m.name ?? "", isLearner: !!m.isLearner, clientUrls: m.clientURLs ?? [] }));
      } finally {
        c.close();
      }
    }
    case "memberRemove": {
      const c = client(req.endpoint as string, 10_000);
      try {
        await c.unary(clusterService.methods.MemberRemove!, { ID: Number.parseInt(req.memberId as string, 16) });
        return true;
      } finally {
        c.close();
      }
    }
    case "startLoad": {
      if (running) throw new Error("load already running");
      const o = req as unknown as LoadOptions;
      const state = { stop: false, loops: [] as Promise<void>[] };
      state.loops = Array.from({ length: o.clients }, (_, i) => loop(i, o, state));
      running = state;
      return true;
    }
    case "stopLoad": {
      if (!running) return false;
      running.stop = true;
      await Promise.all(running.loops);
      running = undefined;
      return true;
    }
    case "finalReads":
      return finalReads(req.endpoints as string[], req.keys as string[], (req.deadlineMs as number) ?? 20_000);
    case "history":
      // JSON has no Infinity: unknown returns travel as null.
      return { history: history.map((op) => ({ ...op, return: Number.isFinite(op.return) ? op.return : null })), acked };
    case "watch":
      return watchAll(req.endpoint as string, req.toRevision as number, (req.timeoutMs as number) ?? 15_000);
    default:
      throw new Error(`unknown command ${req.cmd}`);
  }
}

if (import.meta.main) {
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const req = JSON.parse(line) as Request;
    handle(req).then(
      (result) => process.stdout.write(JSON.stringify({ id: req.id, ok: true, result }) + "\n"),
      (e: unknown) => process.stdout.write(JSON.stringify({ id: req.id, ok: false, error: String((e as Error)?.message ?? e) }) + "\n"),
    );
  });
  rl.on("close", () => process.exit(0));
  process.stdout.write(JSON.stringify({ ready: true }) + "\n");
}
