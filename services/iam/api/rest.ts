/**
 * The REST/JSON API: one Hono route per operation, plus `/openapi.json`. Errors are thrown as
 * PhotonErrors and turned into `{ error: { code, message, details } }` with their HTTP status
 * by lib/http-server's boundary, the same codes the gRPC API sends.
 */
import { Hono, type Context } from "hono";
import type { HttpEnv } from "../../../lib/http-server.ts";
import { IamErrors } from "../errors.ts";
import type { IamService } from "../service.ts";
import type { RequestInfo } from "../types.ts";
import { serveFeed } from "./feed.ts";
import { iamOperations } from "./index.ts";
import { openApiDocument } from "./openapi.ts";
import { checkInput, type ApiOperation } from "./operation.ts";

/** Largest accepted request body. */
const MAX_BODY_BYTES = 1 << 20;

/** The caller's address as Bun's server sees it (Hono gets the server as `c.env`). */
function sourceOf(c: Context<HttpEnv>): string {
  // Bun.serve passes itself as the second fetch argument, which Hono exposes as `c.env`; the
  // HttpEnv type does not declare it, hence the structural cast.
  const server = c.env as unknown as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  try {
    return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

async function bodyOf(c: Context<HttpEnv>): Promise<Record<string, unknown>> {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) throw IamErrors.InvalidArgument(`request body too large (${length} bytes; at most ${MAX_BODY_BYTES})`);
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw IamErrors.InvalidArgument(`request body too large (at most ${MAX_BODY_BYTES} bytes)`);
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw IamErrors.InvalidArgument("request body must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw IamErrors.InvalidArgument("request body must be a JSON object");
  return body as Record<string, unknown>;
}

function route(svc: IamService, o: ApiOperation) {
  return async (c: Context<HttpEnv>) => {
    const params = c.req.param() as Record<string, string>;
    const query = o.method === "GET" || o.method === "DELETE" ? c.req.query() : {};
    const body = o.method === "POST" || o.method === "PATCH" ? await bodyOf(c) : {};
    const authorization = c.req.header("authorization");
    const req: RequestInfo = { source: sourceOf(c), ...(authorization !== undefined ? { authorization } : {}) };
    const caller = o.auth ? await svc.authenticate(req) : undefined; // first: anonymous callers learn nothing
    const input = checkInput(o, { ...body, ...query, ...params }, new Set([...Object.keys(query), ...Object.keys(params)]));
    const out = await o.run(svc, caller, input, req);
    c.header("cache-control", "no-store");
    return c.json(out as object, o.status);
  };
}

/** The REST app of `svc` (mount it with lib/http-server). */
export function iamRestApp(svc: IamService): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  for (const o of iamOperations) app.on(o.method, o.path, route(svc, o));
  app.get("/v1/authz/feed", (c) => {
    const authorization = c.req.header("authorization");
    return serveFeed(svc, c, { source: sourceOf(c), ...(authorization !== undefined ? { authorization } : {}) });
  });
  let doc: object | undefined;
  app.get("/openapi.json", (c) => c.json((doc ??= openApiDocument())));
  return app;
}
