/**
 * The metadata proxy that runs inside one tenant network (a network namespace): it listens on
 * 169.254.169.254:80 and forwards GET/HEAD requests to the host's metadata server over its unix
 * socket, stating who asks — the TCP peer address (`X-Forwarded-For`, overwriting anything the
 * guest sent) and the network (`X-Photon-Network`, fixed per proxy).
 *
 *   ip netns exec NS photon plasmavmc-metadata-proxy \
 *     --listen 169.254.169.254:80 --network VPC_ID --upstream /run/photon/metadata.sock
 *
 * (cli/commands/plasmavmc-metadata-proxy.ts: prints `listening HOST:PORT` once bound; SIGTERM stops it.)
 */

/** Options of {@link startMetadataProxy}. */
export interface MetadataProxyOptions {
  hostname: string;
  port: number;
  /** The network this proxy serves, passed to the server's lookup. */
  network: string;
  /** The metadata server's unix socket. */
  upstream: string;
}

/** Starts the proxy; resolves to a stopper and the bound port. */
export function startMetadataProxy(o: MetadataProxyOptions): { port: number; stop: () => void } {
  const server = Bun.serve({
    hostname: o.hostname,
    port: o.port,
    async fetch(req, srv) {
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
      const peer = srv.requestIP(req)?.address;
      if (!peer) return new Response("unknown caller\n", { status: 400 });
      const url = new URL(req.url);
      try {
        const res = await fetch(`http://metadata${url.pathname}`, {
          method: req.method,
          unix: o.upstream,
          headers: { "x-forwarded-for": peer.replace(/^::ffff:/, ""), "x-photon-network": o.network },
        });
        return new Response(req.method === "HEAD" ? null : await res.arrayBuffer(), {
          status: res.status,
          headers: { "content-type": res.headers.get("content-type") ?? "text/plain" },
        });
      } catch {
        return new Response("metadata service unavailable\n", { status: 503 });
      }
    },
  });
  return { port: server.port ?? o.port, stop: () => server.stop(true) };
}
