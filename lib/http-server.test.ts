import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { CommonErrors, PhotonError } from "./errors.ts";
import { type HttpEnv, type HttpServer, type HttpServerOptions, startHttpServer } from "./http-server.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { ShutdownCoordinator } from "./shutdown.ts";

const logLines: Record<string, unknown>[] = [];
const logger: Logger = createLogger("test", {
  level: "debug",
  sink: { write: (line) => void logLines.push(JSON.parse(line)) },
});

const running: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop(0)));
  logLines.length = 0;
});

function start(options: Partial<HttpServerOptions> = {}): HttpServer {
  const server = startHttpServer({
    component: "test",
    host: "127.0.0.1",
    port: 0,
    metrics: createMetrics("test", { processMetrics: false }),
    logger,
    shutdown: null,
    ...options,
  });
  running.push(server);
  return server;
}

type Item = { id: string; requestId: string };
type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };

/** The value of the sample `name{labels}` in a Prometheus text exposition, whatever the label order. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort())) return Number(m[3]);
  }
  return undefined;
}

/** Resolves when the next request to /v1/slow has reached its handler. */
let slowStarted: () => void = () => {};
function nextSlowStart(): Promise<void> {
  return new Promise((resolve) => {
    slowStarted = resolve;
  });
}

function testApp(): Hono<HttpEnv> {
  return new Hono<HttpEnv>()
    .get("/v1/items/:id", (c) => c.json({ id: c.req.param("id"), requestId: c.get("requestId") }))
    .get("/v1/missing", () => {
      throw CommonErrors.NotFound("item 7 does not exist", { details: { id: 7 } });
    })
    .get("/v1/bug", () => {
      throw new Error("secret internal detail at /srv/db");
    })
    .get("/v1/odd-throw", () => {
      throw "a string, not an Error";
    })
    .get("/v1/bad-request", () => {
      throw new HTTPException(400, { message: "Malformed JSON in request body" });
    })
    .post("/v1/upload", async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }))
    .get("/v1/slow", async (c) => {
      slowStarted();
      await Bun.sleep(Number(c.req.query("ms") ?? 300));
      return c.text("done");
    });
}

describe("startHttpServer built-in endpoints", () => {
  it("picks a free port when asked for port 0 and reports its URL", async () => {
    const server = start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it("answers /healthz with 200 ok", async () => {
    const res = await fetch(`${start().url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
  });

  it("answers /readyz with 200 when ready and 503 when not", async () => {
    let ready = false;
    const server = start({ readiness: () => ready });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ready");
  });

  it("treats a readiness check that throws or rejects as not ready", async () => {
    const throwing = start({ readiness: () => { throw new Error("store closed"); } });
    expect((await fetch(`${throwing.url}/readyz`)).status).toBe(503);
    const rejecting = start({ readiness: () => Promise.reject(new Error("store closed")) });
    expect((await fetch(`${rejecting.url}/readyz`)).status).toBe(503);
  });

  it("serves Prometheus metrics with request counts per route pattern", async () => {
    const server = start({ app: testApp() });
    await fetch(`${server.url}/v1/items/1`);
    await fetch(`${server.url}/v1/items/2`);
    await fetch(`${server.url}/nowhere/${crypto.randomUUID()}`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const text = await res.text();
    const labels = { method: "GET", route: "/v1/items/:id", component: "test" };
    expect(sample(text, "photon_http_requests_total", { ...labels, status: "200" })).toBe(2);
    expect(sample(text, "photon_http_requests_total", { ...labels, route: "(unmatched)", status: "404" })).toBe(1);
    expect(sample(text, "photon_http_request_duration_seconds_count", labels)).toBe(2);
    expect(sample(text, "photon_http_requests_in_flight", { component: "test" })).toBe(1); // the /metrics request itself
  });
});

describe("startHttpServer error boundary", () => {
  it("serves the app's routes", async () => {
    const res = await fetch(`${start({ app: testApp() }).url}/v1/items/42`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Item).id).toBe("42");
  });

  it("turns a thrown PhotonError into its JSON body and status", async () => {
    const res = await fetch(`${start({ app: testApp() }).url}/v1/missing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: "PHOTON:NotFound", message: "item 7 does not exist", details: { id: 7 } },
    });
  });

  it("turns any other error into PHOTON:Internal 500 without leaking its message or stack", async () => {
    const res = await fetch(`${start({ app: testApp() }).url}/v1/bug`);
    expect(res.status).toBe(500);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe("PHOTON:Internal");
    expect(JSON.stringify(body)).not.toContain("secret");
    expect(JSON.stringify(body)).not.toContain("at ");
    expect(body.error.details?.requestId).toBe(res.headers.get("x-request-id"));
    const logged = logLines.find((l) => l.msg === "request failed");
    expect(logged?.requestId).toBe(body.error.details?.requestId);
    expect(String(logged?.stack)).toContain("secret internal detail");
  });

  it("turns a thrown non-Error value into PHOTON:Internal 500", async () => {
    const res = await fetch(`${start({ app: testApp() }).url}/v1/odd-throw`);
    expect(res.status).toBe(500);
    expect(((await res.json()) as ErrorBody).error.code).toBe("PHOTON:Internal");
  });

  it("maps Hono's HTTPException to the common code of its status", async () => {
    const res = await fetch(`${start({ app: testApp() }).url}/v1/bad-request`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error).toEqual({ code: "PHOTON:InvalidArgument", message: "Malformed JSON in request body" });
  });

  it("answers unknown routes with PHOTON:NotFound JSON", async () => {
    const res = await fetch(`${start({ app: testApp() }).url}/v2/nothing`, { method: "POST" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "PHOTON:NotFound", message: "no route for POST /v2/nothing" } });
  });

  it("keeps a sane x-request-id from the caller and makes one up otherwise", async () => {
    const server = start({ app: testApp() });
    const kept = await fetch(`${server.url}/v1/items/1`, { headers: { "x-request-id": "abc-123" } });
    expect(kept.headers.get("x-request-id")).toBe("abc-123");
    expect(((await kept.json()) as Item).requestId).toBe("abc-123");
    const replaced = await fetch(`${server.url}/healthz`, { headers: { "x-request-id": "bad id\u00e9" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("startHttpServer stop", () => {
  it("lets an in-flight request finish, then refuses connections", async () => {
    const server = start({ app: testApp() });
    const started = nextSlowStart();
    const slow = fetch(`${server.url}/v1/slow?ms=300`);
    await started;
    const stopped = server.stop(5_000);
    expect(server.draining).toBe(true);
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("done");
    await stopped;
    await expect(fetch(`${server.url}/healthz`, { keepalive: false })).rejects.toThrow();
  });

  it("cuts requests still running at the deadline", async () => {
    const server = start({ app: testApp() });
    const started = nextSlowStart();
    const slow = fetch(`${server.url}/v1/slow?ms=3000`).then(
      (r) => r.status,
      () => "cut",
    );
    await started;
    const t0 = performance.now();
    await server.stop(100);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(await slow).toBe("cut");
  });

  it("is drained by its shutdown coordinator", async () => {
    const coordinator = new ShutdownCoordinator({ logger, exit: () => {} });
    const server = start({ shutdown: coordinator });
    expect(await coordinator.run("test")).toBe(0);
    expect(server.draining).toBe(true);
  });

  it("refuses bodies over maxRequestBodySize and accepts them up to it", async () => {
    const server = start({ app: testApp(), maxRequestBodySize: 64 * 1024 });
    const ok = await fetch(`${server.url}/v1/upload`, { method: "POST", body: new Uint8Array(64 * 1024) });
    expect(await ok.json()).toEqual({ bytes: 64 * 1024 });
    const big = await fetch(`${server.url}/v1/upload`, { method: "POST", body: new Uint8Array(64 * 1024 + 1) }).catch((e: Error) => e);
    expect(big instanceof Error ? "refused" : big.status).toBeOneOf(["refused", 413]);
  });

  it("reports an address in use as PHOTON:Unavailable", () => {
    const first = start();
    try {
      start({ port: first.port });
      throw new Error("expected the second bind to fail");
    } catch (e) {
      expect((e as PhotonError).code).toBe("PHOTON:Unavailable");
      expect((e as PhotonError).message).toContain(`127.0.0.1:${first.port}`);
    }
  });
});

describe("startHttpServer TLS", () => {
  let dir = "";
  const file = (name: string) => join(dir, name);
  const pem = (name: string) => readFileSync(file(name), "utf8");
  const openssl = (...args: string[]) => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const issue = (name: string, ca: string, cn: string, ext: string) => {
    openssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial",
      "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "photon-tls-"));
    for (const ca of ["ca", "other-ca"]) {
      openssl("req", "-x509", ...ec, "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "1", "-subj", `/CN=${ca}`);
    }
    issue("server", "ca", "127.0.0.1", "subjectAltName=IP:127.0.0.1");
    issue("client", "ca", "client", "extendedKeyUsage=clientAuth");
    issue("stranger", "other-ca", "stranger", "extendedKeyUsage=clientAuth");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves HTTPS that a client trusting the CA can reach", async () => {
    const server = start({ tls: { certFile: file("server.crt"), keyFile: file("server.key") } });
    expect(server.url).toStartWith("https://127.0.0.1:");
    const res = await fetch(`${server.url}/healthz`, { tls: { ca: pem("ca.crt") } });
    expect(await res.text()).toBe("ok");
  });

  it("with mTLS, accepts a client certificate from the CA and refuses others", async () => {
    const server = start({
      tls: { certFile: file("server.crt"), keyFile: file("server.key"), caFile: file("ca.crt"), requireClientCert: true },
    });
    const url = `${server.url}/healthz`;
    const ok = await fetch(url, { tls: { ca: pem("ca.crt"), cert: pem("client.crt"), key: pem("client.key") } });
    expect(ok.status).toBe(200);
    await expect(fetch(url, { keepalive: false, tls: { ca: pem("ca.crt") } })).rejects.toThrow();
    await expect(
      fetch(url, { keepalive: false, tls: { ca: pem("ca.crt"), cert: pem("stranger.crt"), key: pem("stranger.key") } }),
    ).rejects.toThrow();
  });

  it("refuses mTLS without a CA and names an unreadable certificate", () => {
    expect(() => start({ tls: { certFile: file("server.crt"), keyFile: file("server.key"), requireClientCert: true } })).toThrow(
      /needs caFile/,
    );
    expect(() => start({ tls: { certFile: file("absent.crt"), keyFile: file("server.key") } })).toThrow(/absent\.crt/);
  });
});
