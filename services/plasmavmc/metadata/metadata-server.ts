/**
 * The metadata service behind 169.254.169.254. The agent serves it once per host on a unix socket;
 * inside each tenant network a small proxy (metadata-proxy.ts) listens on 169.254.169.254:80 and
 * forwards every request with the caller's address (`X-Forwarded-For`) and its network
 * (`X-Photon-Network`) — the split Neutron uses, because tenant networks are network namespaces
 * with overlapping addresses while a unix socket is reachable from any namespace.
 *
 * Trust: the identity headers are believed only because the socket is reachable by root alone
 * (mode 0600) and the proxy overwrites whatever a guest sent. A caller the lookup does not know gets
 * 404 — never another instance's data. Only GET and HEAD are served.
 */
import { chmodSync, rmSync } from "node:fs";
import { metadataDocument, type InstanceMetadata } from "./instance-metadata.ts";

/** Finds the instance that owns `ip` in `network`. */
export type MetadataLookup = (network: string, ip: string) => InstanceMetadata | undefined | Promise<InstanceMetadata | undefined>;

/** Options of {@link startMetadataServer}. */
export interface MetadataServerOptions {
  /** Unix socket path to listen on (replaced if it exists; made 0600). */
  socketPath: string;
  lookup: MetadataLookup;
}

/** A running metadata server. */
export interface MetadataServer {
  socketPath: string;
  stop(): void;
}

/** The request handler, separate from the listener so it can be tested and mounted elsewhere. */
export function metadataHandler(lookup: MetadataLookup): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    const ip = req.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    const network = req.headers.get("x-photon-network")?.trim();
    if (!ip || !network) return new Response("missing caller identity\n", { status: 400 });
    let instance: InstanceMetadata | undefined;
    try {
      instance = await lookup(network, ip);
    } catch {
      return new Response("metadata lookup failed\n", { status: 503 });
    }
    if (!instance) return new Response("no instance with this address\n", { status: 404 });
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname).replace(/\/{2,}/g, "/");
    } catch {
      return new Response("bad path\n", { status: 400 });
    }
    const doc = metadataDocument(instance, path);
    if (!doc) return new Response("not found\n", { status: 404 });
    return new Response(req.method === "HEAD" ? null : doc.body, { headers: { "content-type": doc.contentType } });
  };
}

/**
 * Serves metadata on a unix socket.
 * @example
 * const srv = startMetadataServer({ socketPath: "/run/photon/metadata.sock", lookup: (net, ip) => byAddress.get(`${net}/${ip}`) });
 */
export function startMetadataServer(options: MetadataServerOptions): MetadataServer {
  rmSync(options.socketPath, { force: true });
  const handler = metadataHandler(options.lookup);
  const server = Bun.serve({ unix: options.socketPath, fetch: handler });
  chmodSync(options.socketPath, 0o600);
  return {
    socketPath: options.socketPath,
    stop: () => {
      server.stop(true);
      rmSync(options.socketPath, { force: true });
    },
  };
}
