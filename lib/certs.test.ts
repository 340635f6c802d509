import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { canonicalIp, createCa, generateCerts, issueCert, loadCa } from "./certs.ts";
import { PhotonError } from "./errors.ts";

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "photon-certs-"));
  dir = join(root, "certs");
  await generateCerts({ dir, services: ["iam", "client"], hosts: ["node1.example.internal"], ips: ["10.1.2.3", "fd00::7"], nodeName: "node1" });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const read = (name: string) => readFile(join(dir, name), "utf8");

function openssl(...args: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(PhotonError);
  expect((e as PhotonError).code).toBe(code);
}

describe("generated files", () => {
  it("are verified by openssl against ca.crt", () => {
    const r = openssl("verify", "-CAfile", "ca.crt", "iam.crt", "client.crt");
    expect(r.out).toContain("iam.crt: OK");
    expect(r.out).toContain("client.crt: OK");
    expect(r.code).toBe(0);
  });

  it("make a CA that is self-signed, CA:TRUE and may sign certificates", () => {
    const r = openssl("x509", "-in", "ca.crt", "-noout", "-text");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(r.out).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(r.out).toContain("ASN1 OID: prime256v1");
    expect(r.out).toContain("ecdsa-with-SHA256");
    expect(openssl("verify", "-CAfile", "ca.crt", "ca.crt").code).toBe(0);
  });

  it("give service certificates the SANs and both TLS extended key usages", () => {
    const r = openssl("x509", "-in", "iam.crt", "-noout", "-text");
    expect(r.code).toBe(0);
    expect(r.out).toContain("Subject: CN = iam, O = PhotonCloud");
    expect(r.out).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(r.out).toContain("TLS Web Server Authentication, TLS Web Client Authentication");
    for (const san of [
      "DNS:localhost", "DNS:iam", "DNS:node1,", "DNS:node1.example.internal", "IP Address:127.0.0.1",
      "IP Address:0:0:0:0:0:0:0:1", "IP Address:10.1.2.3", "IP Address:FD00:0:0:0:0:0:0:7",
    ]) {
      expect(r.out).toContain(san);
    }
  });

  it("write keys with mode 0600 and certificates with 0644, and no temporary files", async () => {
    for (const f of ["ca.key", "iam.key", "client.key"]) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
    for (const f of ["ca.crt", "iam.crt", "client.crt"]) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o644);
    expect((await readdir(dir)).sort()).toEqual(["ca.crt", "ca.key", "client.crt", "client.key", "iam.crt", "iam.key"]);
    expect(await read("iam.key")).toStartWith("-----BEGIN PRIVATE KEY-----\n");
  });
});

describe("TLS with the generated certificates", () => {
  it("lets a client that trusts only ca.crt connect to a server using a service certificate", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: await read("iam.crt"), key: await read("iam.key") },
      fetch: () => new Response("hello"),
    });
    try {
      const url = `https://127.0.0.1:${server.port}/`;
      const ok = await fetch(url, { tls: { ca: await read("ca.crt") } });
      expect(await ok.text()).toBe("hello");
      const other = await createCa();
      const failed = await fetch(url, { tls: { ca: other.certPem } }).then(() => "connected", (e: unknown) => String(e));
      expect(failed).toMatch(/verify|certificate/i);
    } finally {
      server.stop(true);
    }
  });

  it("does mTLS: accepts a client presenting the client certificate and rejects one with none", async () => {
    const [ca, cert, key, clientCert, clientKey] = await Promise.all(
      ["ca.crt", "iam.crt", "iam.key", "client.crt", "client.key"].map(read),
    );
    const peers: string[] = [];
    const server = tls.createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true }, (socket) => {
      const peer = socket.getPeerCertificate();
      peers.push(`${socket.authorized}:${peer.subject?.CN}`);
      socket.end("welcome");
    });
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const withCert = await talk({ port, host: "127.0.0.1", servername: "iam", ca, cert: clientCert, key: clientKey });
      expect(withCert).toEqual({ data: "welcome" });
      expect(peers).toEqual(["true:client"]);

      const withoutCert = await talk({ port, host: "127.0.0.1", servername: "iam", ca });
      expect(withoutCert.data).toBe("");
      expect(withoutCert.error).toMatch(/CERTIFICATE_REQUIRED|handshake|alert/i);
      expect(peers).toEqual(["true:client"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** Connects, reads until the server closes; returns what arrived and the error if any. */
function talk(options: tls.ConnectionOptions): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    let data = "";
    let error: string | undefined;
    const socket = tls.connect(options);
    const timer = setTimeout(() => socket.destroy(new Error("timed out")), 3000);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("error", (e) => (error ??= e.message));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(error === undefined ? { data } : { data, error });
    });
    socket.on("end", () => socket.end());
  });
}

describe("generateCerts on an existing directory", () => {
  it("keeps the CA and existing certificates and issues the missing ones", async () => {
    const caBefore = await read("ca.crt");
    const iamBefore = await read("iam.crt");
    const r = await generateCerts({ dir, services: ["iam", "flaredb"], nodeName: "node1" });
    expect(r.ca.status).toBe("kept");
    expect(r.services.map((s) => [s.service, s.status])).toEqual([["iam", "kept"], ["flaredb", "created"]]);
    expect(await read("ca.crt")).toBe(caBefore);
    expect(await read("iam.crt")).toBe(iamBefore);
    expect(openssl("verify", "-CAfile", "ca.crt", "flaredb.crt").code).toBe(0);
  });

  it("renews a certificate that lacks a newly requested host", async () => {
    const r = await generateCerts({ dir, services: ["flaredb"], nodeName: "node1", hosts: ["db.example.internal"] });
    expect(r.services[0]).toMatchObject({ status: "renewed", reason: "it lacked db.example.internal" });
    expect(openssl("x509", "-in", "flaredb.crt", "-noout", "-ext", "subjectAltName").out).toContain("DNS:db.example.internal");
  });

  it("renews a certificate signed by another CA", async () => {
    const other = await createCa();
    const foreign = await issueCert(other, { service: "flaredb" });
    await writeFile(join(dir, "flaredb.crt"), foreign.certPem);
    await writeFile(join(dir, "flaredb.key"), foreign.keyPem, { mode: 0o600 });
    const r = await generateCerts({ dir, services: ["flaredb"], nodeName: "node1" });
    expect(r.services[0]).toMatchObject({ status: "renewed", reason: "it was signed by another CA" });
    expect(openssl("verify", "-CAfile", "ca.crt", "flaredb.crt").code).toBe(0);
  });

  it("replaces the CA and reissues the listed certificates only with force", async () => {
    const caBefore = await read("ca.crt");
    const r = await generateCerts({ dir, services: ["iam", "client"], nodeName: "node1", force: true });
    expect(r.ca.status).toBe("replaced");
    expect(r.services.map((s) => s.status)).toEqual(["renewed", "renewed"]);
    expect(await read("ca.crt")).not.toBe(caBefore);
    expect(openssl("verify", "-CAfile", "ca.crt", "iam.crt", "client.crt").code).toBe(0);
    expect(((await stat(join(dir, "ca.key"))).mode & 0o777)).toBe(0o600);
  });

  it("refuses a CA with a missing key or a key of another CA unless forced", async () => {
    const d = join(root, "broken");
    await generateCerts({ dir: d, services: ["iam"] });
    const other = await createCa();
    await writeFile(join(d, "ca.key"), other.keyPem);
    await expectCode(generateCerts({ dir: d, services: ["iam"] }), "CERTS:CaInvalid");
    await unlink(join(d, "ca.key"));
    await expectCode(generateCerts({ dir: d, services: ["iam"] }), "CERTS:CaIncomplete");
    const r = await generateCerts({ dir: d, services: ["iam"], force: true });
    expect(r.ca.status).toBe("replaced");
  });

  it("refuses an expired CA unless forced", async () => {
    const d = join(root, "expired");
    await generateCerts({ dir: d, services: ["iam"], caValidityDays: 2 });
    const later = new Date(Date.now() + 3 * 24 * 60 * 60 * 1000);
    await expectCode(generateCerts({ dir: d, services: ["iam"], now: later }), "CERTS:CaInvalid");
    const r = await generateCerts({ dir: d, services: ["iam"], now: later, force: true });
    expect(r.ca.status).toBe("replaced");
  });
});

describe("input validation", () => {
  it("rejects bad service names, hosts, IPs and validity before writing anything", async () => {
    const d = join(root, "never");
    for (const options of [
      { services: ["../etc"] }, { services: ["Upper"] }, { services: ["ca"] }, { services: [] },
      { hosts: ["bad host"] }, { ips: ["1.2.3"] }, { ips: ["fe80::1%eth0"] }, { leafValidityDays: 0 },
      { caValidityDays: 1.5 },
    ]) {
      await expectCode(generateCerts({ dir: d, ...options }), "CERTS:InvalidArgument");
    }
    expect(await stat(d).catch(() => undefined)).toBeUndefined();
  });

  it("reports a directory that cannot be created as DirNotWritable", async () => {
    const file = join(root, "a-file");
    await writeFile(file, "x");
    await expectCode(generateCerts({ dir: join(file, "certs"), services: ["iam"] }), "CERTS:DirNotWritable");
    await expectCode(generateCerts({ dir: file, services: ["iam"] }), "CERTS:DirNotWritable");
  });
});

describe("issueCert", () => {
  it("never outlives its CA and honours the requested validity", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const ca = await createCa({ validityDays: 10, now });
    const short = await issueCert(ca, { service: "iam", validityDays: 3, now });
    expect(short.notAfter.toISOString()).toBe("2030-01-04T00:00:00.000Z");
    const long = await issueCert(ca, { service: "iam", validityDays: 365, now });
    expect(long.notAfter.getTime()).toBe(ca.cert.notAfter.getTime());
  });

  it("round-trips a CA through loadCa", async () => {
    const ca = await createCa();
    const loaded = await loadCa(ca.certPem, ca.keyPem);
    const leaf = await issueCert(loaded, { service: "iam", nodeName: "n1" });
    expect(leaf.dnsNames).toEqual(["localhost", "iam", "n1"]);
    expect(leaf.ips).toEqual(["127.0.0.1", "::1"]);
  });

  it("refuses a leaf certificate as a CA", async () => {
    const ca = await createCa();
    const leaf = await issueCert(ca, { service: "iam" });
    await expectCode(loadCa(leaf.certPem, leaf.keyPem), "CERTS:CaInvalid");
  });
});

describe("canonicalIp", () => {
  it("normalises IPv4 and IPv6 and rejects the rest", () => {
    expect(canonicalIp("10.0.0.1")).toBe("10.0.0.1");
    expect(canonicalIp("FD00:0:0::7")).toBe("fd00::7");
    expect(canonicalIp("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
    expect(canonicalIp("example.com")).toBeUndefined();
    expect(canonicalIp("fe80::1%eth0")).toBeUndefined();
  });
});
