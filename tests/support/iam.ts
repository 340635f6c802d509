/**
 * Test helpers for iam: a replica on free loopback ports against a test chainfire, and a tiny
 * REST client that returns status and body (so tests can assert error codes).
 */
import { readFileSync } from "node:fs";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import type { AdminCredentials } from "../../services/iam/bootstrap.ts";
import { startIam, type IamServer, type IamServerOptions } from "../../services/iam/server.ts";

/** Starts an iam replica (quiet logs, ports 0, fast housekeeping). */
export function startTestIam(etcdEndpoint: string, dataDir: string, options: Partial<IamServerOptions> = {}): Promise<IamServer> {
  return startIam({
    etcdEndpoints: [etcdEndpoint],
    dataDir,
    host: "127.0.0.1",
    httpPort: 0,
    grpcPort: 0,
    logger: createLogger("iam", { level: "error" }),
    metrics: createMetrics("iam"),
    ...options,
  });
}

/** A REST response as tests look at it. */
export interface ApiResult<T = any> {
  status: number;
  body: T;
}

/** Calls iam's REST API. */
export async function api<T = any>(base: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<ApiResult<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Logs in and returns the access token (throws on failure). */
export async function loginToken(base: string, user: string, password: string, extra: { org?: string; project?: string } = {}): Promise<string> {
  const r = await api(base, "POST", "/v1/auth/login", { body: { user, password, ...extra } });
  if (r.status !== 200) throw new Error(`login ${user} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.accessToken;
}

/** The bootstrap credentials a replica wrote. */
export function adminCredentials(server: IamServer): AdminCredentials {
  if (!server.credentialsFile) throw new Error("this replica did not bootstrap");
  return JSON.parse(readFileSync(server.credentialsFile, "utf8"));
}
