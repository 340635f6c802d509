/**
 * A bare HTTP file server for the throughput bench's reference rows: what the same client gets
 * through the same loopback socket from the same runtime when the server does nothing but store
 * and send bytes. PUT writes the body to a temp file natively (`Bun.write(file, request)`),
 * fdatasyncs it and renames it into place (no authentication, no hashing, no metadata); GET sends
 * the file (sendfile). It separates the cost of HTTP transport from lightningstor's own work.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";

/** A running reference server. */
export interface PlainHttp {
  url: string;
  stop(): Promise<void>;
}

/** Serves files under `dir` on a free loopback port (paths are flattened into one file name). */
export function startPlainHttp(dir: string): PlainHttp {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 1 << 30,
    async fetch(req) {
      const name = join(dir, encodeURIComponent(new URL(req.url).pathname));
      if (req.method === "PUT") {
        const tmp = `${name}.${++n}.tmp`;
        await Bun.write(tmp, req);
        const fd = openSync(tmp, "r+");
        fdatasyncSync(fd);
        closeSync(fd);
        renameSync(tmp, name);
        return new Response(null);
      }
      const f = Bun.file(name);
      return (await f.exists()) ? new Response(f) : new Response(null, { status: 404 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}
