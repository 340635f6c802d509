/**
 * A real grpc-go client, etcdctl (Debian's etcd-client), against our server serving the KV
 * part of etcd's API from a toy in-memory map: proves the wire protocol is what grpc-go
 * expects (chainfire will serve the full API through this server). Skipped when etcdctl is
 * not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import type Long from "long";
import { createLogger } from "../log.ts";
import { GrpcServer } from "./server.ts";
import { loadService, type Unary } from "./service.ts";
import { GRPC_TRANSPORTS } from "./testdata/transports.ts";

describe.each(GRPC_TRANSPORTS)("%s transport", (transport) => {
  interface KeyValue {
    key: Uint8Array;
    value: Uint8Array;
    createRevision: number;
    modRevision: number;
    version: number;
  }
  interface Header {
    revision: number;
  }
  interface KV {
    Range: Unary<{ key: Uint8Array; rangeEnd: Uint8Array; limit: Long }, { header: Header; kvs: KeyValue[]; count: number }>;
    Put: Unary<{ key: Uint8Array; value: Uint8Array; prevKv: boolean }, { header: Header; prevKv?: KeyValue }>;
  }

  const etcdctl = Bun.which("etcdctl");
  const kvService = loadService<KV>(join(import.meta.dir, "testdata", "etcd-kv.proto"), "etcdserverpb.KV");

  describe.skipIf(!etcdctl)("etcdctl against our server", () => {
    const store = new Map<string, KeyValue>();
    let revision = 1;
    let server: GrpcServer;
    let endpoint: string;

    // Asynchronous: the server runs in this process, so a blocking spawn would starve it.
    const run = async (...args: string[]) => {
      const p = Bun.spawn([etcdctl as string, `--endpoints=${endpoint}`, "--dial-timeout=2s", "--command-timeout=3s", ...args], {
        env: { ...process.env, ETCDCTL_API: "3" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, out: out.trim(), err: err.trim() };
    };

    beforeAll(async () => {
      server = new GrpcServer({ transport, logger: createLogger("grpc-test", { sink: { write: () => {} } }) });
      server.addService(kvService, {
        Put: (req) => {
          const key = Buffer.from(req.key).toString("latin1");
          const prev = store.get(key);
          revision++;
          store.set(key, {
            key: req.key,
            value: req.value,
            createRevision: prev?.createRevision ?? revision,
            modRevision: revision,
            version: (prev?.version ?? 0) + 1,
          });
          return { header: { revision }, ...(req.prevKv && prev ? { prevKv: prev } : {}) };
        },
        Range: (req) => {
          const from = Buffer.from(req.key).toString("latin1");
          const end = Buffer.from(req.rangeEnd).toString("latin1");
          const kvs = [...store.values()]
            .filter((kv) => {
              const k = Buffer.from(kv.key).toString("latin1");
              return end === "" ? k === from : end === "\0" ? k >= from : k >= from && k < end;
            })
            .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
          return { header: { revision }, kvs, count: kvs.length };
        },
      });
      const port = await server.listen(0);
      endpoint = `127.0.0.1:${port}`;
    });

    afterAll(() => server.stop(200));

    it("puts and gets keys, ranges by prefix, and sees UNIMPLEMENTED for the rest", async () => {
      expect(await run("put", "foo", "bar")).toMatchObject({ code: 0, out: "OK" });
      expect((await run("put", "foo/a", "1")).code).toBe(0);
      expect(await run("put", "foo/b", "✓ two words")).toMatchObject({ code: 0 });
      expect((await run("get", "foo")).out).toBe("foo\nbar");
      expect((await run("get", "--prefix", "foo/")).out).toBe("foo/a\n1\nfoo/b\n✓ two words");
      const json = JSON.parse((await run("get", "foo", "-w", "json")).out) as { header: { revision: number }; count: number };
      expect(json.header.revision).toBe(revision);
      expect(json.count).toBe(1);
      const del = await run("del", "foo");
      expect(del.code).not.toBe(0);
      expect(del.err).toContain("Unimplemented");
    });
  });
});
