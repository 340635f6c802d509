/**
 * The REST/JSON API: lib/api's one route per operation plus `/openapi.json`, and the policy feed
 * (`/v1/authz/feed`, a stream, outside the operation table). Errors are PhotonErrors turned into
 * `{ error: { code, message, details } }` by lib/http-server's boundary, the gRPC API's codes.
 */
import type { Hono } from "hono";
import { requestSource, restApp } from "../../../lib/api/index.ts";
import type { HttpEnv } from "../../../lib/http-server.ts";
import type { IamService } from "../service.ts";
import { serveFeed } from "./feed.ts";
import { iamOperations } from "./index.ts";
import { openApiDocument } from "./openapi.ts";
import { iamApiDefinition } from "./operation.ts";

/** The REST app of `svc` (mount it with lib/http-server). */
export function iamRestApp(svc: IamService): Hono<HttpEnv> {
  const app = restApp(iamApiDefinition(svc, iamOperations), openApiDocument);
  app.get("/v1/authz/feed", (c) => {
    const authorization = c.req.header("authorization");
    return serveFeed(svc, c, { source: requestSource(c), ...(authorization !== undefined ? { authorization } : {}) });
  });
  return app;
}
