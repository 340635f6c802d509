/**
 * What GrpcServer needs from an HTTP/2 server implementation: accept connections, hand every
 * new stream to the server as a CallStream, and shut down in two steps (GOAWAY, then close).
 * Two implementations: node:http2 (node-transport.ts) and the raw-socket one (h2/h2-server.ts).
 */
import type { Logger } from "../log.ts";
import type { StreamHandler } from "./call-stream.ts";

/** See the module comment. */
export interface ServerTransport {
  /** Binds and listens; resolves with the bound port; rejects when it cannot bind. */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting connections and sends GOAWAY on every connection (and on any accepted
   * later) so clients open no new streams; in-flight streams go on. Resolves once the listener
   * is closed.
   */
  shutdown(): Promise<void>;
  /** Closes every connection now (streams still open are closed with them). */
  destroy(): void;
}

/** HTTP/2 settings a transport advertises (the subset both transports honour). */
export interface TransportSettings {
  /** SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxConcurrentStreams?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE (per-stream receive window). */
  initialWindowSize?: number;
  /** SETTINGS_MAX_FRAME_SIZE we accept. */
  maxFrameSize?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: the largest request header list accepted. */
  maxHeaderListSize?: number;
}

/** What every transport is built with. */
export interface TransportOptions {
  onStream: StreamHandler;
  logger: Logger;
}
