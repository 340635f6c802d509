/**
 * Image imports cannot make plasmavmc fetch from inside the cloud (SSRF): through the API, a URL
 * on loopback, link-local (the metadata address), a private network or this host's own address
 * is refused at create with PLASMAVMC:ImportForbidden and nothing is stored; the operator's
 * `image_import_allow` lets a loopback mirror through; a redirect from that allowed mirror to a
 * forbidden address puts the image in ERROR with the code, no file, and the forbidden server
 * never sees a request. Loopback only: forbidden targets are refused before any connection.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { PlasmavmcClient } from "../../../services/plasmavmc/client.ts";
import { startPlasmavmc, type PlasmavmcServer } from "../../../services/plasmavmc/server.ts";
import { codeOf, makeTenant, startStack, type Stack, type Tenant } from "./support.ts";

const hasQemuImg = Bun.which("qemu-img") !== null;
if (!hasQemuImg) console.log("skipping plasmavmc's image import allow-list test: qemu-img is not installed");

describe.skipIf(!hasQemuImg)("plasmavmc image import allow-list", () => {
  const work = mkdtempSync(join(tmpdir(), "plasmavmc-ssrf-"));
  let stack: Stack; // default policy: public addresses only
  let mirrorOk: PlasmavmcServer; // a second replica whose operator allows 127.0.0.1
  let t: Tenant;
  let allowed: PlasmavmcClient;
  const forbiddenHits: string[] = [];
  const raw = new Uint8Array(64 * 1024).fill(3);
  let forbidden: ReturnType<typeof Bun.serve>;
  let mirror: ReturnType<typeof Bun.serve>;

  beforeAll(async () => {
    stack = await startStack(work);
    mkdirSync(join(work, "images-ok"), { recursive: true });
    mirrorOk = await startPlasmavmc({
      etcdEndpoints: [stack.chainfire.endpoint], iamUrl: stack.iam.http.url, novanetUrl: stack.novanet.http.url, imageDir: join(work, "images-ok"),
      host: "127.0.0.1", httpPort: 0, grpcPort: 0, imageImportAllow: ["127.0.0.1/32"],
      logger: createLogger("plasmavmc", { level: "error" }), metrics: createMetrics("plasmavmc"),
    });
    t = await makeTenant(stack, "ssrf");
    allowed = new PlasmavmcClient(mirrorOk.http.url, t.token);
    forbidden = Bun.serve({ hostname: "127.0.0.2", port: 0, fetch: (req) => (forbiddenHits.push(req.url), new Response(raw)) });
    mirror = Bun.serve({
      hostname: "127.0.0.1", port: 0,
      fetch: (req) => {
        const p = new URL(req.url).pathname;
        if (p === "/disk.raw") return new Response(raw);
        if (p === "/to-forbidden") return Response.redirect(`http://127.0.0.2:${forbidden.port}/disk.raw`, 302);
        if (p === "/to-metadata") return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
        return new Response("no", { status: 404 });
      },
    });
  }, 60_000);

  afterAll(async () => {
    mirror?.stop(true);
    forbidden?.stop(true);
    await mirrorOk?.stop();
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const files = (dir: string) => (existsSync(join(work, dir)) ? readdirSync(join(work, dir)) : []);

  it("refuses loopback, link-local, private and own addresses by default, storing nothing", async () => {
    const { networkInterfaces } = await import("node:os");
    const own = Object.values(networkInterfaces()).flatMap((l) => l ?? []).find((a) => a.family === "IPv4" && !a.internal)?.address;
    const urls = [
      `http://127.0.0.1:${mirror.port}/disk.raw`, `http://localhost:${mirror.port}/disk.raw`, `http://[::1]:${mirror.port}/disk.raw`,
      "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/disk.raw", "http://192.168.1.1/disk.raw", "http://[fd00::1]/disk.raw",
      ...(own ? [`http://${own}:${mirror.port}/disk.raw`] : []),
    ];
    for (const url of urls) {
      const e = await t.pv.createImage({ name: "x", url }).then(() => undefined, (x) => x as { code: string; message: string });
      expect({ url, code: e?.code }).toEqual({ url, code: "PLASMAVMC:ImportForbidden" });
      expect(e!.message).toContain("image_import_allow");
    }
    expect((await t.pv.listImages()).items).toEqual([]);
    expect(files("images")).toEqual([]);
  });

  it("imports from a loopback mirror the operator allows", async () => {
    const img = await allowed.createImage({ name: "ok", url: `http://127.0.0.1:${mirror.port}/disk.raw` });
    expect(await allowed.waitForImage(img.id, 20_000)).toMatchObject({ state: "ACTIVE", bytes: raw.length });
    expect(files("images-ok")).toEqual([img.id]);
    // the allow-list is per server: the default one still refuses the same URL
    expect(await codeOf(t.pv.createImage({ name: "again", url: `http://127.0.0.1:${mirror.port}/disk.raw` }))).toBe("PLASMAVMC:ImportForbidden");
  });

  it("refuses a redirect from the allowed mirror to a forbidden address: ERROR with the code, no file, no request there", async () => {
    for (const path of ["to-forbidden", "to-metadata"]) {
      const img = await allowed.createImage({ name: path, url: `http://127.0.0.1:${mirror.port}/${path}` });
      const done = await allowed.waitForImage(img.id, 20_000);
      expect(done).toMatchObject({ state: "ERROR", error: expect.stringContaining("PLASMAVMC:ImportForbidden") });
      expect(files("images-ok").filter((f) => f.includes(img.id))).toEqual([]);
    }
    expect(forbiddenHits).toEqual([]);
  });
});
