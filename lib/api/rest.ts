/**
 * The REST/JSON transport of an operation table: one Hono route per operation, plus
 * `/openapi.json`. Errors are thrown as PhotonErrors and turned into
 * `{ error: { code, message, details } }` with their HTTP status by lib/http-server's boundary,
 * the same codes the gRPC transport sends.
 */
import { Hono, type Context } from "hono";
import type { HttpEnv } from "../http-server.ts";
import { checkInput, type ApiDefinition, type ApiOperation, type ApiRequest } from "./operation.ts";

/** Largest accepted request body. */
const MAX_BODY_BYTES = 1 << 20;

/** The caller's address as Bun's server sees it (Hono gets the server as `c.env`). */
export function requestSource(c: Context<HttpEnv>): string {
  // Bun.serve passes itself as the second fetch argument, which Hono exposes as `c.env`; the
  // HttpEnv type does not declare it, hence the structural cast.
  const server = c.env as unknown as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  try {
    return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

async function bodyOf<S, C>(c: Context<HttpEnv>, def: ApiDefinition<S, C>): Promise<Record<string, unknown>> {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) throw def.invalid(`request body too large (${length} bytes; at most ${MAX_BODY_BYTES})`);
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw def.invalid(`request body too large (at most ${MAX_BODY_BYTES} bytes)`);
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw def.invalid("request body must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw def.invalid("request body must be a JSON object");
  return body as Record<string, unknown>;
}

function route<S, C>(def: ApiDefinition<S, C>, o: ApiOperation<S, C>) {
  return async (c: Context<HttpEnv>) => {
    const params = c.req.param() as Record<string, string>;
    const query = o.method === "GET" || o.method === "DELETE" ? c.req.query() : {};
    const body = o.method === "POST" || o.method === "PATCH" ? await bodyOf(c, def) : {};
    const authorization = c.req.header("authorization");
    const req: ApiRequest = { source: requestSource(c), ...(authorization !== undefined ? { authorization } : {}) };
    const caller = o.auth ? await def.authenticate(def.service, req) : undefined; // first: anonymous callers learn nothing
    const input = checkInput(o, { ...body, ...query, ...params }, def.invalid, new Set([...Object.keys(query), ...Object.keys(params)]));
    const out = await o.run(def.service, caller, input, req);
    c.header("cache-control", "no-store");
    return c.json((out ?? {}) as object, o.status);
  };
}

/** The REST app of an API (mount it with lib/http-server); `openapi` is served at `/openapi.json`. */
export function restApp<S, C>(def: ApiDefinition<S, C>, openapi: () => object): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  for (const o of def.operations) app.on(o.method, o.path, route(def, o));
  let doc: object | undefined;
  app.get("/openapi.json", (c) => c.json((doc ??= openapi())));
  return app;
}
