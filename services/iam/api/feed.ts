/**
 * `GET /v1/authz/feed`: the policy feed that keeps other services' in-process evaluators fresh
 * (see feed-types.ts for the messages). Reading it means reading the whole policy, so it takes a
 * PhotonCloud service's secret (service-identity.ts) or a token allowed `iam:binding:list` on the
 * system (system administrators and readers).
 * One line of newline-delimited JSON per message; a `ping` every `PING_MS` keeps proxies and
 * idle timeouts from closing a quiet stream.
 */
import type { Context } from "hono";
import type { HttpEnv } from "../../../lib/http-server.ts";
import type { FeedMessage } from "../feed-types.ts";
import type { IamService } from "../service.ts";
import { isServiceSecret, serviceOf } from "../service-identity.ts";
import type { RequestInfo } from "../types.ts";

/** How often an idle feed sends a ping. */
const PING_MS = 5_000;
/** A subscriber this far behind (bytes queued) is cut off; it reconnects and starts from a snapshot. */
const MAX_QUEUED_BYTES = 64 << 20;

/** Serves the feed to an authorised caller. @throws IAM:Unauthenticated, IAM:PermissionDenied. */
export async function serveFeed(svc: IamService, c: Context<HttpEnv>, req: RequestInfo): Promise<Response> {
  if (isServiceSecret(req.authorization)) {
    await serviceOf(svc, req, "the policy feed");
  } else {
    const caller = await svc.authenticate(req);
    await svc.allow(caller, "iam:binding:list", {}, false);
  }
  const encoder = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const send = (m: FeedMessage) => {
        if (closed) return;
        if ((controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) return stop();
        controller.enqueue(encoder.encode(`${JSON.stringify(m)}\n`));
      };
      const unsubscribe = svc.replica.subscribe((e) => send(e.type === "reset" ? svc.replica.feedSnapshot() : e));
      const ping = setInterval(() => send({ type: "ping" }), PING_MS);
      stop = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(ping);
        try {
          controller.close();
        } catch {
          // already closed by the client going away
        }
      };
      send(svc.replica.feedSnapshot()); // same turn as subscribe: no event falls in between
    },
    cancel() {
      stop();
    },
  }, { highWaterMark: MAX_QUEUED_BYTES, size: (chunk) => chunk?.byteLength ?? 0 });
  c.req.raw.signal?.addEventListener("abort", () => stop());
  return new Response(stream, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" } });
}
