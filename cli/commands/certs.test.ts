import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./certs.ts";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "photon-certs-cli-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function photonCerts(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

function opensslVerify(dir: string, ...certs: string[]): number {
  return Bun.spawnSync(["openssl", "verify", "-CAfile", "ca.crt", ...certs], { cwd: dir, stdout: "ignore", stderr: "ignore" })
    .exitCode;
}

describe("photon certs", () => {
  it("issues the CA and a certificate per default service into ./data/certs", async () => {
    const cwd = process.cwd();
    const work = join(root, "defaults");
    await Bun.write(join(work, ".keep"), "");
    process.chdir(work);
    let r;
    try {
      r = await photonCerts();
    } finally {
      process.chdir(cwd);
    }
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const dir = join(work, "data", "certs");
    const services = [
      "chainfire", "iam", "flaredb", "plasmavmc", "lightningstor", "flashdns", "fiberlb", "novanet", "k8shost",
      "metricstor", "baremetal", "admin", "client",
    ];
    const files = await readdir(dir);
    expect(files.sort()).toEqual(["ca", ...services].flatMap((s) => [`${s}.crt`, `${s}.key`]).sort());
    expect(r.out).toContain("created  data/certs/ca.crt, data/certs/ca.key  (CA, expires");
    expect(r.out).toContain("created  data/certs/metricstor.crt, data/certs/metricstor.key");
    expect(opensslVerify(dir, ...services.map((s) => `${s}.crt`))).toBe(0);
    for (const f of files.filter((f) => f.endsWith(".key"))) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
  });

  it("prints JSON with -o json and takes --services, --host and --ip", async () => {
    const dir = join(root, "json");
    const r = await photonCerts("--dir", dir, "--services", "iam, client", "--host", "a.example", "--host", "b.example",
      "--ip", "192.0.2.1", "-o", "json");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out);
    expect(result.ca.status).toBe("created");
    expect(result.services.map((s: { service: string }) => s.service)).toEqual(["iam", "client"]);
    expect(result.services[0].dnsNames).toContain("b.example");
    expect(result.services[0].ips).toEqual(["127.0.0.1", "::1", "192.0.2.1"]);
    expect(opensslVerify(dir, "iam.crt", "client.crt")).toBe(0);
  });

  it("keeps the CA when re-run and replaces it with --force", async () => {
    const dir = join(root, "rerun");
    expect((await photonCerts("--dir", dir, "--services", "iam")).code).toBe(0);
    const ca = await readFile(join(dir, "ca.crt"), "utf8");

    const again = await photonCerts("--dir", dir, "--services", "iam,fiberlb", "-o", "json");
    expect(again.code).toBe(0);
    const kept = JSON.parse(again.out);
    expect(kept.ca.status).toBe("kept");
    expect(kept.services.map((s: { status: string }) => s.status)).toEqual(["kept", "created"]);
    expect(await readFile(join(dir, "ca.crt"), "utf8")).toBe(ca);

    const forced = await photonCerts("--dir", dir, "--services", "iam,fiberlb", "--force");
    expect(forced.code).toBe(0);
    expect(forced.out).toContain("replaced");
    expect(await readFile(join(dir, "ca.crt"), "utf8")).not.toBe(ca);
    expect(opensslVerify(dir, "iam.crt", "fiberlb.crt")).toBe(0);
  });

  it("prints usage with --help", async () => {
    const r = await photonCerts("--help");
    expect(r.code).toBe(0);
    expect(r.out).toStartWith("usage: photon certs");
  });

  it("exits 2 with one line on stderr for bad input", async () => {
    const file = join(root, "a-file");
    await writeFile(file, "x");
    for (const argv of [
      ["--bogus"],
      ["stray-argument"],
      ["--dir"],
      ["--dir", join(file, "certs")],
      ["--dir", join(root, "bad"), "--services", "../x"],
      ["--dir", join(root, "bad"), "--services", ","],
      ["--dir", join(root, "bad"), "--ip", "300.1.1.1"],
      ["--dir", join(root, "bad"), "--days", "0"],
      ["--dir", join(root, "bad"), "-o", "yaml"],
    ]) {
      const r = await photonCerts(...argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.out).toBe("");
      expect(r.err).toStartWith("photon certs: ");
      expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    }
  });
});
