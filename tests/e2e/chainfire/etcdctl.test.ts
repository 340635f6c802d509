/**
 * chainfire against the real etcd client, etcdctl 3.4 (Debian etcd-client): one node for the
 * file, every command a user runs. Skipped when etcdctl is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChainfireServer } from "../../../services/chainfire/server.ts";
import { startTestChainfire } from "../../support/chainfire.ts";

const etcdctl = Bun.which("etcdctl");
const dir = mkdtempSync(join(tmpdir(), "chainfire-etcdctl-"));
let server: ChainfireServer;
let endpoint: string;

/** Runs etcdctl asynchronously (the server lives in this process). */
async function ctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([etcdctl!, `--endpoints=${endpoint}`, "--dial-timeout=3s", "--command-timeout=5s", ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

/** Runs etcdctl with stdin (txn -i). */
async function ctlIn(input: string, ...args: string[]) {
  const p = Bun.spawn([etcdctl!, `--endpoints=${endpoint}`, ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
    stdin: new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, out };
}

beforeAll(async () => {
  if (!etcdctl) return;
  server = await startTestChainfire(join(dir, "n1"));
  endpoint = server.endpoint.replace("http://", "");
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!etcdctl)("etcdctl against chainfire", () => {
  it("puts, gets (also as JSON and by prefix) and deletes", async () => {
    expect((await ctl("put", "foo", "bar")).out.trim()).toBe("OK");
    expect((await ctl("get", "foo")).out).toBe("foo\nbar\n");
    const prev = await ctl("put", "foo", "baz", "--prev-kv");
    expect(prev.out).toBe("OK\nfoo\nbar\n");
    const json = JSON.parse((await ctl("get", "foo", "-w", "json")).out);
    expect(json.kvs[0]).toMatchObject({ version: 2, value: Buffer.from("baz").toString("base64") });
    await ctl("put", "fox", "1");
    expect((await ctl("get", "--prefix", "fo", "--keys-only")).out.split("\n").filter(Boolean)).toEqual(["foo", "fox"]);
    const limited = JSON.parse((await ctl("get", "--prefix", "fo", "--limit=1", "-w", "json")).out);
    expect(limited).toMatchObject({ count: 2, more: true });
    expect(limited.kvs).toHaveLength(1);
    expect((await ctl("del", "--prefix", "fo")).out.trim()).toBe("2");
    expect((await ctl("get", "foo")).out).toBe("");
  });

  it("runs a transaction (interactive txn)", async () => {
    await ctl("put", "t", "x");
    const ok = await ctlIn('value("t") = "x"\n\nput t yes\n\nput t no\n\n', "txn", "-i");
    expect(ok.out).toContain("SUCCESS");
    expect((await ctl("get", "t", "--print-value-only")).out.trim()).toBe("yes");
    const no = await ctlIn('value("t") = "x"\n\nput t yes2\n\nput t no\n\n', "txn", "-i");
    expect(no.out).toContain("FAILURE");
    expect((await ctl("get", "t", "--print-value-only")).out.trim()).toBe("no");
  });

  it("watches a prefix and sees puts and deletes in order", async () => {
    const p = Bun.spawn([etcdctl!, `--endpoints=${endpoint}`, "watch", "--prefix", "w/"], { env: { ...process.env, ETCDCTL_API: "3" }, stdout: "pipe" });
    await Bun.sleep(400);
    await ctl("put", "w/1", "a");
    await ctl("put", "w/2", "b");
    await ctl("del", "w/1");
    await Bun.sleep(300);
    p.kill();
    const out = await new Response(p.stdout).text();
    expect(out.split("\n").filter(Boolean)).toEqual(["PUT", "w/1", "a", "PUT", "w/2", "b", "DELETE", "w/1"]);
  });

  it("replays history with watch --rev", async () => {
    const rev = Number(JSON.parse((await ctl("put", "h", "1", "-w", "json")).out).header.revision);
    await ctl("put", "h", "2");
    const p = Bun.spawn([etcdctl!, `--endpoints=${endpoint}`, "watch", `--rev=${rev}`, "h"], { env: { ...process.env, ETCDCTL_API: "3" }, stdout: "pipe" });
    await Bun.sleep(500);
    p.kill();
    expect((await new Response(p.stdout).text()).split("\n").filter(Boolean)).toEqual(["PUT", "h", "1", "PUT", "h", "2"]);
  });

  it("grants leases, attaches keys, shows time to live and revokes", async () => {
    const grant = await ctl("lease", "grant", "60");
    const id = grant.out.split(" ")[1]!;
    expect(grant.out).toContain("granted with TTL(60s)");
    await ctl("put", "lk", "v", `--lease=${id}`);
    expect((await ctl("lease", "timetolive", id, "--keys")).out).toContain("attached keys([lk])");
    expect((await ctl("lease", "list")).out).toContain(id);
    expect((await ctl("lease", "keep-alive", "--once", id)).out).toContain("keepalived with TTL(60)");
    expect((await ctl("lease", "revoke", id)).out).toContain("revoked");
    expect((await ctl("get", "lk")).out).toBe("");
  });

  it("lists members, reports endpoint status and health", async () => {
    expect((await ctl("member", "list")).out).toContain(`started, n1, , ${server.endpoint}`);
    const status = JSON.parse((await ctl("endpoint", "status", "-w", "json")).out);
    expect(status[0].Status.version).toBe("3.4.23");
    expect(status[0].Status.leader).toBe(status[0].Status.header.member_id);
    expect((await ctl("endpoint", "health")).err).toContain("is healthy");
  });

  it("reports endpoint status for an endpoint written as a URL (etcdctl dials it verbatim: `:authority` http://...)", async () => {
    const url = endpoint.startsWith("http") ? endpoint : `http://${endpoint}`;
    const p = Bun.spawn([etcdctl!, `--endpoints=${url}`, "--command-timeout=5s", "endpoint", "status", "-w", "json"], { env: { ...process.env, ETCDCTL_API: "3" }, stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(err).not.toContain("PROTOCOL_ERROR");
    expect(JSON.parse(out)[0].Status.version).toBe("3.4.23");
  });

  it("saves a snapshot, compacts and defragments", async () => {
    const file = join(dir, "snap.db");
    const snap = await ctl("snapshot", "save", file);
    expect(snap.code).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).size % 512).toBe(32);
    const rev = Number(JSON.parse((await ctl("get", "x", "-w", "json")).out).header.revision);
    expect((await ctl("compaction", String(rev - 1))).out).toContain(`compacted revision ${rev - 1}`);
    const old = await ctl("get", "h", "--rev=1");
    expect(old.code).not.toBe(0);
    expect(old.err).toContain("required revision has been compacted");
    expect((await ctl("defrag")).out).toContain("Finished defragmenting");
    expect((await ctl("alarm", "list")).code).toBe(0);
  });
});
