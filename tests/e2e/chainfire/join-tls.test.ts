/**
 * `photon chainfire` with mTLS to clients and between members' client endpoints (the join's
 * MemberAdd and the followers' forwarding): one member configured by flags, the other by a
 * photon.toml ([node], [chainfire], [tls]) — the same keys, the flags winning over the file.
 * Certificates come from lib/certs.ts (what `photon certs` writes).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { generateCerts } from "../../../lib/certs.ts";
import { GrpcClient } from "../../../lib/grpc/index.ts";
import { clusterService, kvService } from "../../../services/chainfire/api/definitions.ts";
import { freePort } from "../../support/free-port.ts";

const photon = join(import.meta.dir, "..", "..", "..", "cli", "photon.ts");
const work = mkdtempSync(join(tmpdir(), "chainfire-join-tls-"));
const certs = join(work, "certs");
const te = new TextEncoder();
const td = new TextDecoder();
const procs: ChildProcess[] = [];
const clients: GrpcClient[] = [];
let n1: { endpoint: string };
let n2: { endpoint: string };

async function start(args: string[], cwd = work): Promise<{ endpoint: string }> {
  const proc = spawn(process.execPath, [photon, "chainfire", ...args, "-o", "json"], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PHOTON_LOG_LEVEL: "warn" } });
  procs.push(proc);
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`photon chainfire exited ${code}: ${err}`)));
    createInterface({ input: proc.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
  });
}

function client(endpoint: string, withCert = true): GrpcClient {
  const c = new GrpcClient(endpoint, {
    defaultTimeoutMs: 5_000,
    tls: { ca: readFileSync(join(certs, "ca.crt")), ...(withCert ? { cert: readFileSync(join(certs, "client.crt")), key: readFileSync(join(certs, "client.key")) } : {}) },
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  await generateCerts({ dir: certs, services: ["chainfire", "client"] });
  const tlsFlags = ["--cert-file", join(certs, "chainfire.crt"), "--key-file", join(certs, "chainfire.key"), "--trusted-ca-file", join(certs, "ca.crt"), "--client-cert-auth"];
  n1 = await start(["--name", "n1", "--data-dir", join(work, "n1"), "--listen-client", `127.0.0.1:${await freePort()}`, "--listen-peer", `127.0.0.1:${await freePort()}`, "--http-port", "0", ...tlsFlags]);
  const toml = join(work, "n2.toml");
  writeFileSync(
    toml,
    [
      "[node]", `name = "n2"`, `data_dir = "${join(work, "n2")}"`,
      "[chainfire]", `client_port = 1`, `peer_port = ${await freePort()}`, "http_port = 0", `join = "${n1.endpoint}"`,
      "[tls]", "enabled = true", `cert_file = "${join(certs, "chainfire.crt")}"`, `key_file = "${join(certs, "chainfire.key")}"`, `ca_file = "${join(certs, "ca.crt")}"`, "require_client_cert = true",
    ].join("\n") + "\n",
  );
  // client_port = 1 in the file is overridden by the flag.
  n2 = await start(["--config", toml, "--listen-client", `127.0.0.1:${await freePort()}`]);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once("exit", r)) : undefined)));
  rmSync(work, { recursive: true, force: true });
});

describe("photon chainfire with mTLS", () => {
  it("serves https and joins the second member over mTLS", async () => {
    expect(n1.endpoint).toStartWith("https://127.0.0.1:");
    expect(n2.endpoint).toStartWith("https://127.0.0.1:");
    expect(n2.endpoint).not.toEndWith(":1");
    const deadline = performance.now() + 15_000;
    let names: string[] = [];
    while (performance.now() < deadline) {
      const r = (await client(n1.endpoint).unary(clusterService.methods.MemberList!, {})) as { members: { name: string; isLearner?: boolean }[] };
      names = r.members.filter((m) => !m.isLearner && m.name).map((m) => m.name).sort();
      if (names.length === 2) break;
      await Bun.sleep(100);
    }
    expect(names).toEqual(["n1", "n2"]);
  }, 30_000);

  it("forwards a write made on the follower and reads it on the other member", async () => {
    await client(n2.endpoint).unary(kvService.methods.Put!, { key: te.encode("tls"), value: te.encode("both ways") });
    const r = (await client(n1.endpoint).unary(kvService.methods.Range!, { key: te.encode("tls") })) as { kvs: { value: Uint8Array }[] };
    expect(td.decode(r.kvs[0]!.value)).toBe("both ways");
  });

  it("refuses a client without a certificate", async () => {
    await expect(client(n2.endpoint, false).unary(kvService.methods.Range!, { key: te.encode("tls") })).rejects.toThrow();
  });
});
