/**
 * QmpClient against a real QEMU. `-machine none` has no guest to boot, so it starts in
 * milliseconds and costs no CPU; every QMP behaviour tested here is the same as with a guest.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PhotonError } from "../../../lib/errors.ts";
import { QmpClient, type QmpEvent } from "./qmp-client.ts";

const qemu = Bun.which("qemu-system-x86_64");
if (!qemu) console.log("skipping QMP client tests: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)");

const dir = mkdtempSync(join(tmpdir(), "photon-qmp-"));

async function startQemu(name: string): Promise<{ proc: ReturnType<typeof Bun.spawn>; sock: string }> {
  const sock = join(dir, `${name}.sock`);
  const proc = Bun.spawn(
    [qemu!, "-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-qmp", `unix:${sock},server=on,wait=off`],
    { stdout: "ignore", stderr: "pipe" },
  );
  for (let i = 0; i < 200; i++) {
    if (existsSync(sock)) return { proc, sock };
    await Bun.sleep(10);
  }
  proc.kill(9);
  throw new Error(`QEMU did not create ${sock}: ${await new Response(proc.stderr as ReadableStream).text()}`);
}

async function rejection(p: Promise<unknown>): Promise<PhotonError> {
  try {
    await p;
  } catch (e) {
    return e as PhotonError;
  }
  throw new Error("expected a rejection");
}

describe.skipIf(!qemu)("QmpClient", () => {
  let vm: Awaited<ReturnType<typeof startQemu>>;
  let qmp: QmpClient;

  beforeAll(async () => {
    vm = await startQemu("main");
    qmp = await QmpClient.connect(vm.sock);
  });
  afterAll(() => {
    qmp?.close();
    vm?.proc.kill(9);
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the greeting and negotiates capabilities", async () => {
    expect(qmp.greeting.QMP.version.qemu.major).toBeGreaterThanOrEqual(5);
    const version = await qmp.execute<{ qemu: { major: number } }>("query-version");
    expect(version.qemu.major).toBe(qmp.greeting.QMP.version.qemu.major);
  });

  it("matches concurrent answers to their commands by id", async () => {
    const [status, name, version] = await Promise.all([
      qmp.execute<{ status: string; running: boolean }>("query-status"),
      qmp.execute<Record<string, unknown>>("query-name"),
      qmp.execute<{ qemu: unknown }>("query-version"),
    ]);
    expect(typeof status.running).toBe("boolean");
    expect(name).toEqual({});
    expect(version.qemu).toBeDefined();
  });

  it("emits STOP and RESUME events for stop and cont", async () => {
    const seen: string[] = [];
    const onEvent = (e: QmpEvent) => seen.push(e.event);
    qmp.on("event", onEvent);
    const stopped = qmp.waitForEvent("STOP", 5000);
    await qmp.execute("stop");
    await stopped;
    expect((await qmp.execute<{ status: string }>("query-status")).status).toBe("paused");
    const resumed = qmp.waitForEvent("RESUME", 5000);
    await qmp.execute("cont");
    await resumed;
    expect((await qmp.execute<{ status: string }>("query-status")).status).toBe("running");
    qmp.off("event", onEvent);
    expect(seen).toEqual(["STOP", "RESUME"]);
  });

  it("turns a rejected command into PLASMAVMC:QmpCommandFailed with QEMU's class", async () => {
    const e = await rejection(qmp.execute("no-such-command"));
    expect(e.code).toBe("PLASMAVMC:QmpCommandFailed");
    expect(e.details?.class).toBe("CommandNotFound");
    const bad = await rejection(qmp.execute("query-status", { unexpected: 1 }));
    expect(bad.code).toBe("PLASMAVMC:QmpCommandFailed");
    expect(bad.message).toContain("unexpected");
    // the connection is still usable afterwards
    expect((await qmp.execute<{ status: string }>("query-status")).status).toBeString();
  });

  it("times out when QEMU does not answer, and recovers when it does again", async () => {
    vm.proc.kill("SIGSTOP");
    try {
      const e = await rejection(qmp.execute("query-status", undefined, { timeoutMs: 200 }));
      expect(e.code).toBe("PLASMAVMC:QmpTimeout");
    } finally {
      vm.proc.kill("SIGCONT");
    }
    expect((await qmp.execute<{ status: string }>("query-status")).status).toBeString();
  });

  it("fails pending commands and emits close once when QEMU is killed", async () => {
    const other = await startQemu("dying");
    try {
      const client = await QmpClient.connect(other.sock);
      const closes: (PhotonError | undefined)[] = [];
      client.on("close", (e) => closes.push(e));
      other.proc.kill("SIGSTOP");
      const pending = client.execute("query-status", undefined, { timeoutMs: 5000 });
      other.proc.kill(9);
      const e = await rejection(pending);
      expect(e.code).toBe("PLASMAVMC:QmpDisconnected");
      await other.proc.exited;
      await Bun.sleep(20);
      expect(closes.length).toBe(1);
      expect(closes[0]?.code).toBe("PLASMAVMC:QmpDisconnected");
      expect(client.closed).toBe(true);
      expect((await rejection(client.execute("query-status"))).code).toBe("PLASMAVMC:QmpDisconnected");
    } finally {
      other.proc.kill(9); // whatever failed above, no QEMU outlives the test
    }
  });

  it("waits for a QEMU that has bound its socket but does not listen yet (refused right after start)", async () => {
    const sock = join(dir, "late.sock");
    // A stand-in for QEMU starting: bind, listen 300 ms later, then greet and answer capabilities.
    const script = [
      "import json, socket, time, sys",
      "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); time.sleep(0.3); s.listen(1)",
      "c, _ = s.accept(); c.sendall(b'{\"QMP\": {\"version\": {}, \"capabilities\": []}}\\r\\n')",
      "m = json.loads(c.recv(4096)); c.sendall(json.dumps({'return': {}, 'id': m.get('id')}).encode() + b'\\r\\n'); time.sleep(1)",
    ].join("\n");
    const py = Bun.spawn(["/usr/bin/python3", "-c", script, sock], { stderr: "pipe" });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await Bun.sleep(5);
      const client = await QmpClient.connect(sock, { connectTimeoutMs: 3000 });
      client.close();
    } finally {
      py.kill(9);
      await py.exited;
    }
  });

  it("reports a missing socket as PLASMAVMC:QmpConnectFailed", async () => {
    const e = await rejection(QmpClient.connect(join(dir, "absent.sock")));
    expect(e.code).toBe("PLASMAVMC:QmpConnectFailed");
    expect(e.message).toContain("ENOENT");
  });

  it("reports a socket that is not QMP as PLASMAVMC:QmpProtocol, and a silent one as QmpTimeout", async () => {
    const chatty = join(dir, "chatty.sock");
    const silent = join(dir, "silent.sock");
    const servers: Server[] = [
      createServer((c) => c.end("SSH-2.0-OpenSSH\r\n")).listen(chatty),
      createServer(() => {}).listen(silent),
    ];
    try {
      await Bun.sleep(20);
      expect((await rejection(QmpClient.connect(chatty))).code).toBe("PLASMAVMC:QmpProtocol");
      expect((await rejection(QmpClient.connect(silent, { connectTimeoutMs: 200 }))).code).toBe("PLASMAVMC:QmpTimeout");
    } finally {
      for (const s of servers) s.close();
    }
    writeFileSync(join(dir, "plain-file"), "x");
    expect((await rejection(QmpClient.connect(join(dir, "plain-file")))).code).toBe("PLASMAVMC:QmpConnectFailed");
  });
});
