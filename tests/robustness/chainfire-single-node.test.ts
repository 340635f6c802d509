/**
 * chainfire under concurrent clients and kill -9 (one node, its own process): the recorded
 * history must be linearizable, no acknowledged write may be lost, and a watch from revision 1
 * must deliver every revision once and in order. A bounded run for CI.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrpcClient } from "../../lib/grpc/index.ts";
import { kvService, watchService } from "../../services/chainfire/api/definitions.ts";
import { checkLinearizable, type Operation } from "./linearizability/checker.ts";
import { kvModel, type KvInput, type KvOutput } from "./linearizability/kv-model.ts";

const dir = mkdtempSync(join(tmpdir(), "chainfire-robust-"));
const serve = join(import.meta.dir, "..", "..", "bench", "chainfire", "serve.ts");
let proc: ChildProcess | undefined;

afterAll(() => {
  proc?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startNode(port: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, [serve, join(dir, "data"), String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    p.on("exit", (code) => reject(new Error(`chainfire exited ${code}`)));
  });
  return p;
}

const te = new TextEncoder();
const td = new TextDecoder();
const Put = kvService.methods.Put!;
const Range = kvService.methods.Range!;
const Txn = kvService.methods.Txn!;

describe("chainfire single node under kill -9", () => {
  it("keeps a linearizable history and every acknowledged write", async () => {
    const port = await freePort();
    proc = await startNode(port);
    const history: Operation<KvInput, KvOutput>[] = [];
    const acked: { key: string; value: string; revision: number }[] = [];
    let stop = false;
    let seq = 0;

    const client = async (id: number) => {
      const c = new GrpcClient(`127.0.0.1:${port}`, { defaultTimeoutMs: 1500 });
      while (!stop) {
        const key = `k${Math.floor(Math.random() * 4)}`;
        const r = Math.random();
        const call = performance.now();
        if (r < 0.45) {
          const value = `v${id}-${seq++}`;
          const op: Operation<KvInput, KvOutput> = { clientId: id, input: { op: "put", key, value }, output: undefined, call, return: Infinity };
          history.push(op);
          try {
            const res = (await c.unary(Put, { key: te.encode(key), value: te.encode(value) })) as { header: { revision: { toNumber(): number } | number } };
            op.output = { ok: true };
            op.return = performance.now();
            const rev = res.header.revision;
            acked.push({ key, value, revision: typeof rev === "number" ? rev : rev.toNumber() });
          } catch {
            await Bun.sleep(50); // unknown outcome: leave return = Infinity
          }
        } else if (r < 0.85) {
          try {
            const res = (await c.unary(Range, { key: te.encode(key) })) as { kvs: { value: Uint8Array }[] };
            history.push({ clientId: id, input: { op: "get", key }, output: { value: res.kvs[0] ? td.decode(res.kvs[0].value) : null }, call, return: performance.now() });
          } catch {
            await Bun.sleep(50); // a failed read constrains nothing: not recorded
          }
        } else {
          const expect = Math.random() < 0.5 ? null : `v${Math.floor(Math.random() * 8)}-${Math.max(seq - 3, 0)}`;
          const value = `c${id}-${seq++}`;
          const op: Operation<KvInput, KvOutput> = { clientId: id, input: { op: "cas", key, expect, value }, output: undefined, call, return: Infinity };
          history.push(op);
          const compare = expect === null
            ? { key: te.encode(key), target: 1 /* CREATE */, result: 0 /* EQUAL */, createRevision: 0 }
            : { key: te.encode(key), target: 3 /* VALUE */, result: 0, value: te.encode(expect) };
          try {
            const res = (await c.unary(Txn, { compare: [compare], success: [{ requestPut: { key: te.encode(key), value: te.encode(value) } }], failure: [] })) as { succeeded: boolean };
            op.output = { succeeded: !!res.succeeded };
            op.return = performance.now();
          } catch {
            await Bun.sleep(50);
          }
        }
      }
      c.close();
    };

    const clients = Array.from({ length: 6 }, (_, i) => client(i));
    await Bun.sleep(700);
    proc.kill("SIGKILL");
    await new Promise((r) => proc!.once("exit", r));
    await Bun.sleep(100);
    proc = await startNode(port);
    await Bun.sleep(700);
    stop = true;
    await Promise.all(clients);

    expect(acked.length).toBeGreaterThan(50);
    const verdict = checkLinearizable(kvModel, history, 20_000);
    expect(verdict.timedOut ?? false).toBe(false);
    expect(verdict.ok).toBe(true);

    // Every acknowledged write is still there, exactly once, in a watch from revision 1.
    const c = new GrpcClient(`127.0.0.1:${port}`);
    const w = c.bidi(watchService.methods.Watch!);
    await w.write({ createRequest: { key: te.encode("k"), rangeEnd: te.encode("l"), startRevision: 1 } });
    const seen = new Map<number, string>();
    let lastRev = 0;
    let inOrder = true;
    const maxAcked = Math.max(...acked.map((a) => a.revision));
    for await (const msg of w as AsyncIterable<{ events?: { kv: { modRevision: { toNumber(): number } | number; value: Uint8Array } }[] }>) {
      for (const ev of msg.events ?? []) {
        const mr = ev.kv.modRevision;
        const rev = typeof mr === "number" ? mr : mr.toNumber();
        if (rev <= lastRev || seen.has(rev)) inOrder = false;
        lastRev = rev;
        seen.set(rev, td.decode(ev.kv.value));
      }
      if (lastRev >= maxAcked) break;
    }
    w.cancel();
    c.close();
    expect(inOrder).toBe(true);
    for (const a of acked) expect(seen.get(a.revision)).toBe(a.value);
  }, 60_000);
});
