/**
 * The HTTP server every PhotonCloud service runs: a Hono app served by `Bun.serve` (ADR 0003),
 * with what operability requires already mounted:
 * - `GET /healthz`: 200 `ok` while the process runs;
 * - `GET /readyz`: 200 `ready` when `readiness()` holds, 503 otherwise and while shutting down;
 * - `GET /metrics`: the component's Prometheus metrics, including per-route request counts and latency;
 * - one error boundary: a thrown PhotonError becomes its `toJSON()` body with its HTTP status,
 *   anything else `PHOTON:Internal` (500) without internal details; unknown routes `PHOTON:NotFound`;
 * - an `x-request-id` on every response (the caller's if it sent a sane one), logged with failures;
 * - TLS, and mTLS (client certificates verified against `caFile`) when configured;
 * - graceful stop: stop accepting, drain in-flight requests up to a deadline, then cut the rest.
 *   Servers register with the process's shutdown coordinator, so SIGTERM drains them (lib/shutdown.ts).
 */
import { readFileSync } from "node:fs";
import type { Server } from "bun";
import { type Context, type Env, Hono, type Schema } from "hono";
import { CommonErrors } from "./errors.ts";
import { boundaryError, errorResponse } from "./http-errors.ts";
import { httpRequestMetrics, matchedRoute, unmatchedRoute } from "./http-metrics.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { processShutdown, type ShutdownCoordinator } from "./shutdown.ts";

/** The Hono environment of every PhotonCloud app: `c.get("requestId")` is the request's id. */
export type HttpEnv = { Variables: { requestId: string } };

/** The root app's environment: `unmatched` marks requests answered by the not-found handler. */
type RootEnv = { Variables: { requestId: string; unmatched: boolean } };

/** TLS of a listener: PEM files; `requireClientCert` turns on mTLS and needs `caFile`. */
export interface HttpTlsOptions {
  certFile: string;
  keyFile: string;
  /** CA bundle that verifies client certificates. */
  caFile?: string;
  /** Reject clients without a certificate signed by `caFile`. */
  requireClientCert?: boolean;
}

/** Options of `startHttpServer`. */
export interface HttpServerOptions<E extends Env = HttpEnv, S extends Schema = Schema, B extends string = string> {
  /** Component name, used in logs. */
  component: string;
  /** Address to bind (`127.0.0.1`, `0.0.0.0`, `::`). */
  host: string;
  /** Port to bind; 0 picks a free one (read it from the result). */
  port: number;
  /** The service's routes, mounted at `/` after the built-in endpoints. */
  app?: Hono<E, S, B>;
  tls?: HttpTlsOptions;
  /** Whether the service can take traffic; default always. Throwing counts as not ready. */
  readiness?: () => boolean | Promise<boolean>;
  metrics: Metrics;
  logger: Logger;
  /** Coordinator that drains this server on SIGTERM; default `processShutdown`; `null` for none. */
  shutdown?: ShutdownCoordinator | null;
  /** Largest request body accepted, in bytes (Bun's default is 128 MiB); larger ones get 413. */
  maxRequestBodySize?: number;
}

/** A running server. */
export interface HttpServer {
  /** Base URL, e.g. `http://127.0.0.1:7070` (loopback when bound to a wildcard address). */
  readonly url: string;
  /** The bound port (the chosen one when 0 was asked). */
  readonly port: number;
  /** True once `stop` was called: `/readyz` answers 503. */
  readonly draining: boolean;
  /**
   * Stops accepting connections, waits for in-flight requests up to `drainMs` (default 10 000),
   * then closes whatever is left. Idempotent: later calls return the first call's promise.
   */
  stop(drainMs?: number): Promise<void>;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw CommonErrors.InvalidArgument(`http: cannot read TLS ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function tlsConfig(tls: HttpTlsOptions) {
  if (tls.requireClientCert && tls.caFile === undefined) {
    throw CommonErrors.InvalidArgument("http: requireClientCert needs caFile to verify client certificates");
  }
  return {
    cert: readPem(tls.certFile, "certificate"),
    key: readPem(tls.keyFile, "key"),
    ...(tls.caFile !== undefined ? { ca: readPem(tls.caFile, "CA") } : {}),
    ...(tls.requireClientCert ? { requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/**
 * Starts serving `app` with the built-in endpoints. Returns once the socket is bound.
 * @throws PhotonError `PHOTON:InvalidArgument` if a TLS file cannot be read or mTLS lacks a CA;
 *   `PHOTON:Unavailable` if the address cannot be bound (port in use, bad certificate).
 * @example
 * const app = new Hono<HttpEnv>().get("/v1/hello", (c) => c.json({ hello: "world" }));
 * const server = startHttpServer({ component: "iam", host: "127.0.0.1", port: 0, app, metrics, logger });
 * await fetch(`${server.url}/healthz`); // 200 "ok"
 * await server.stop(5_000);
 */
export function startHttpServer<E extends Env = HttpEnv, S extends Schema = Schema, B extends string = string>(
  options: HttpServerOptions<E, S, B>,
): HttpServer {
  const { component, logger, metrics } = options;
  const readiness = options.readiness ?? (() => true);
  const http = httpRequestMetrics(metrics);
  let draining = false;

  const fail = (thrown: unknown, request: { method: string; path: string; requestId: string }): Response => {
    const { error, serverFault } = boundaryError(thrown, request.requestId);
    if (serverFault) {
      logger.error("request failed", {
        ...request,
        code: error.code,
        error: thrown,
        stack: thrown instanceof Error ? thrown.stack : undefined,
      });
    }
    return errorResponse(error);
  };

  const requestOf = (c: Context<RootEnv>) => ({ method: c.req.method, path: c.req.path, requestId: c.get("requestId") });
  const root = new Hono<RootEnv>();
  root.use("*", async (c, next) => {
    const started = performance.now();
    const sent = c.req.header("x-request-id");
    const requestId = sent !== undefined && requestIdPattern.test(sent) ? sent : crypto.randomUUID();
    c.set("requestId", requestId);
    http.inFlight.inc();
    try {
      await next();
    } catch (thrown) {
      c.res = fail(thrown, requestOf(c)); // values thrown that are not Errors skip Hono's onError
    } finally {
      http.inFlight.dec();
    }
    c.header("x-request-id", requestId);
    const route = c.get("unmatched") === true ? unmatchedRoute : matchedRoute(c);
    http.observe(c.req.method, route, c.res.status, (performance.now() - started) / 1000);
    logger.debug("request", { method: c.req.method, route, status: c.res.status, requestId });
  });
  root.get("/healthz", (c) => c.text("ok"));
  root.get("/readyz", async (c) => {
    if (draining) return c.text("shutting down", 503);
    let ready = false;
    try {
      ready = await readiness();
    } catch (e) {
      logger.warn("readiness check failed", { error: e });
    }
    return ready ? c.text("ready") : c.text("not ready", 503);
  });
  root.get("/metrics", async (c) => c.body(await metrics.render(), 200, { "content-type": metrics.contentType }));
  if (options.app) root.route("/", options.app);
  root.onError((err, c) => fail(err, requestOf(c)));
  root.notFound((c) => {
    c.set("unmatched", true);
    return errorResponse(CommonErrors.NotFound(`no route for ${c.req.method} ${c.req.path}`));
  });

  const tls = options.tls ? tlsConfig(options.tls) : undefined;
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch: root.fetch,
      ...(tls ? { tls } : {}),
      ...(options.maxRequestBodySize !== undefined ? { maxRequestBodySize: options.maxRequestBodySize } : {}),
      // Reached only if Hono itself fails; never leak the error.
      error: (e) => fail(e, { method: "", path: "", requestId: "" }),
    });
  } catch (e) {
    throw CommonErrors.Unavailable(`http: cannot listen on ${options.host}:${options.port}: ${(e as Error).message}`, {
      cause: e,
    });
  }

  const port = server.port ?? options.port;
  const url = `${options.tls ? "https" : "http"}://${urlHost(options.host)}:${port}`;
  logger.info("listening", { component, url, tls: Boolean(options.tls), mtls: Boolean(options.tls?.requireClientCert) });

  let stopping: Promise<void> | undefined;
  let unregister = () => {};
  const stop = (drainMs = 10_000): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      unregister();
      const pending = server.pendingRequests;
      logger.info("draining", { url, pending, drainMs });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), drainMs);
      });
      const outcome = await Promise.race([server.stop(false), deadline]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        logger.warn("drain deadline passed; closing remaining connections", { url, pending: server.pendingRequests });
        await server.stop(true);
      }
      logger.info("stopped", { url });
    })();
    return stopping;
  };
  if (options.shutdown !== null) unregister = (options.shutdown ?? processShutdown).onDrain((ms) => stop(ms));

  return {
    url,
    port,
    get draining() {
      return draining;
    },
    stop,
  };
}
