/**
 * The client's connections: one gRPC client (one HTTP/2 session) per endpoint, one of them
 * active. A call that fails because the endpoint is unavailable moves to the next endpoint:
 * reads always, writes only when the failure proves the request was never acted upon (see
 * `wasNotSent`), so a write is never applied twice. Streams (watch, keep-alive) ask for the
 * active endpoint and report failures, which rotates it.
 */
import { readFileSync } from "node:fs";
import type { PhotonError } from "../errors.ts";
import { GrpcClient, type CallOptions, type ClientDuplex, type GrpcClientTlsOptions, type MethodDefinition } from "../grpc/index.ts";
import { EtcdErrors, toEtcdError, wasNotSent } from "./errors.ts";

/** TLS settings, as files (PEM). */
export interface EtcdTlsOptions {
  /** CA certificate(s) the server's certificate must chain to (default: the system's CAs). */
  caFile?: string;
  /** Client certificate and key, for mTLS. */
  certFile?: string;
  keyFile?: string;
  /** Name to verify the server certificate against (default: the endpoint's host). */
  servername?: string;
}

/** Options of a connection set (the transport part of `EtcdClientOptions`). */
export interface ConnectionOptions {
  /** TLS for every endpoint; `https://` endpoints use TLS with the system's CAs without it. */
  tls?: EtcdTlsOptions;
  /** Deadline of each unary call, in ms, across every endpoint it tries. Default 5000. */
  timeoutMs?: number;
  /** Largest response accepted, in bytes. Default 16 MiB. */
  maxReceiveMessageBytes?: number;
}

/** Options of one call. */
export interface CallControl {
  /** Deadline of this call in ms (overrides the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Aborting it cancels the call (`ETCD:Cancelled`). */
  signal?: AbortSignal;
}

/** Whether a failed call may be sent again to another endpoint. */
export type Retry = "read" | "write";

const DEFAULT_TIMEOUT_MS = 5000;

/** See the module comment. */
export class Connection {
  private readonly clients: GrpcClient[];
  private active = 0;
  private closed = false;
  readonly timeoutMs: number;

  constructor(
    readonly endpoints: readonly string[],
    options: ConnectionOptions = {},
  ) {
    if (endpoints.length === 0) throw EtcdErrors.InvalidArgument("at least one endpoint is needed");
    const tls = tlsOptions(options.tls);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clients = endpoints.map((e) => {
      try {
        return new GrpcClient(e, {
          ...(tls ? { tls } : {}),
          ...(options.maxReceiveMessageBytes ? { maxReceiveMessageBytes: options.maxReceiveMessageBytes } : {}),
        });
      } catch (err) {
        throw EtcdErrors.InvalidArgument(`bad endpoint ${JSON.stringify(e)}: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  /** The endpoint calls go to now. */
  get activeEndpoint(): string {
    return this.endpoints[this.active] as string;
  }

  /** True once `close` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Calls a unary method, failing over to the next endpoints on `ETCD:Unavailable` (each tried
   * once). Rejects with an `ETCD:*` error.
   */
  async unary<Req, Res>(method: MethodDefinition<Req, Res>, request: Req, retry: Retry, control: CallControl = {}): Promise<Res> {
    if (this.closed) throw EtcdErrors.Closed("the etcd client is closed");
    const deadline = Date.now() + (control.timeoutMs ?? this.timeoutMs);
    let last: PhotonError | undefined;
    for (let attempt = 0; attempt < this.clients.length; attempt++) {
      const index = this.active;
      const options: CallOptions = { deadline, ...(control.signal ? { signal: control.signal } : {}) };
      try {
        return await (this.clients[index] as GrpcClient).unary(method, request, options);
      } catch (e) {
        const err = toEtcdError(e);
        if (this.closed) throw EtcdErrors.Closed("the etcd client is closed", { cause: err });
        if (err.code !== "ETCD:Unavailable") throw err;
        this.failed(index);
        last = err;
        if (retry === "write" && !wasNotSent(err)) throw err;
      }
    }
    throw last as PhotonError;
  }

  /**
   * Opens a bidirectional stream on the active endpoint, and the endpoint's index to pass to
   * `failed` when the stream breaks.
   */
  bidi<Req, Res>(method: MethodDefinition<Req, Res>): { call: ClientDuplex<Req, Res>; index: number } {
    if (this.closed) throw EtcdErrors.Closed("the etcd client is closed");
    const index = this.active;
    return { call: (this.clients[index] as GrpcClient).bidi(method), index };
  }

  /** Calls `method` on one given endpoint, without failover (e.g. the status of each member). */
  async unaryOn<Req, Res>(endpoint: string, method: MethodDefinition<Req, Res>, request: Req, control: CallControl = {}): Promise<Res> {
    if (this.closed) throw EtcdErrors.Closed("the etcd client is closed");
    const index = this.endpoints.indexOf(endpoint);
    if (index < 0) throw EtcdErrors.InvalidArgument(`${endpoint} is not one of the client's endpoints`);
    try {
      return await (this.clients[index] as GrpcClient).unary(method, request, {
        timeoutMs: control.timeoutMs ?? this.timeoutMs,
        ...(control.signal ? { signal: control.signal } : {}),
      });
    } catch (e) {
      throw toEtcdError(e);
    }
  }

  /** Reports that endpoint `index` failed: the next one becomes active (if it still was). */
  failed(index: number): void {
    if (this.active === index) this.active = (index + 1) % this.clients.length;
  }

  /** Closes every session; later calls fail with `ETCD:Closed`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.clients) c.close();
  }
}

function tlsOptions(tls: EtcdTlsOptions | undefined): GrpcClientTlsOptions | undefined {
  if (!tls) return undefined;
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw EtcdErrors.InvalidArgument(`cannot read the TLS ${what} file ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw EtcdErrors.InvalidArgument("tls.certFile and tls.keyFile go together (mTLS needs both)");
  }
  return {
    ...(tls.caFile ? { ca: read("CA", tls.caFile) } : {}),
    ...(tls.certFile ? { cert: read("certificate", tls.certFile) } : {}),
    ...(tls.keyFile ? { key: read("key", tls.keyFile) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}
