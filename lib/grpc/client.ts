/**
 * A small, fast gRPC client on node:http2 for internal calls and tests (the @grpc/grpc-js
 * client costs ~340 µs CPU per call on Bun). One HTTP/2 session per client (= per target),
 * opened on the first call, shared by all calls, and reopened after it closes or receives
 * GOAWAY. No load balancing, retries or name resolution: one `host:port`.
 *
 * Errors are PhotonErrors: the server's own code when it sent `photon-error-code`, otherwise
 * `GRPC:<StatusName>` (e.g. `GRPC:Unavailable` when the server cannot be reached).
 */
import http2, { type ClientHttp2Session, type OutgoingHttpHeaders } from "node:http2";
import { CommonErrors, type PhotonError } from "../errors.ts";
import { ClientCall, type ClientCallSink, type ResponseMetadataHandler } from "./client-call.ts";
import { GrpcErrors } from "./errors.ts";
import { DEFAULT_MAX_MESSAGE_BYTES, encodeFrame } from "./frame.ts";
import { MessageQueue } from "./message-queue.ts";
import type { AnyService, KindOf, MethodDefinition, RequestOf, ResponseOf, ServiceDefinition, ServiceShape } from "./service.ts";
import { formatGrpcTimeout } from "./status.ts";

/** Metadata sent with a call: `-bin` names take Buffers (sent base64). */
export type ClientMetadata = Record<string, string | string[] | Buffer>;

/** TLS settings of a client; `true` means TLS with the system's CAs. */
export interface GrpcClientTlsOptions {
  /** PEM CA certificate(s) the server's certificate must chain to. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key, for mTLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name to verify the server certificate against (default: the target host). */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

/** Options of a GrpcClient. */
export interface GrpcClientOptions {
  tls?: GrpcClientTlsOptions | boolean;
  /** Largest response message accepted. Default 16 MiB. */
  maxReceiveMessageBytes?: number;
  /** Largest request message sent. Default 16 MiB. */
  maxSendMessageBytes?: number;
  /** Metadata sent with every call (per-call metadata overrides it by name). */
  metadata?: ClientMetadata;
  /** Deadline applied to calls that set none, in ms. Default none. */
  defaultTimeoutMs?: number;
}

/** Options of one call. */
export interface CallOptions {
  metadata?: ClientMetadata;
  /** Relative deadline in ms, sent as `grpc-timeout` and enforced locally. */
  timeoutMs?: number;
  /** Absolute deadline (`Date.now()` time); the earlier of the two wins. */
  deadline?: number;
  /** Aborting it cancels the call (`GRPC:Cancelled`). */
  signal?: AbortSignal;
  /** Called once the call ends with the response headers and trailers. */
  onResponseMetadata?: ResponseMetadataHandler;
}

/** A call whose responses are read with `for await`; the loop throws the call's error. */
export interface ClientReadable<Res> extends AsyncIterable<Res> {
  /** Cancels the call (RST_STREAM CANCEL); the iteration then throws `GRPC:Cancelled`. */
  cancel(): void;
}

/** The request side of a streaming call. */
export interface ClientWriter<Req> {
  /**
   * Sends a message; resolves when flow control has room (await it for back-pressure). Never
   * rejects: after the call ended messages are dropped. Throws synchronously when the message
   * cannot be encoded or exceeds the send limit.
   */
  write(message: Req): Promise<void>;
  /** Cancels the call (RST_STREAM CANCEL). */
  cancel(): void;
}

/** A client-streaming call: write requests, then `end()` for the response. */
export interface ClientStreamCall<Req, Res> extends ClientWriter<Req> {
  /** Half-closes and resolves with the response (or rejects with the call's error). */
  end(): Promise<Res>;
}

/** A bidirectional call: write requests, `end()` to half-close, iterate responses. */
export interface ClientDuplex<Req, Res> extends ClientWriter<Req>, ClientReadable<Res> {
  /** Half-closes the request side; responses keep coming until the server ends the call. */
  end(): void;
}

/** The client-side function of one method shape. */
export type StubMethod<M> = KindOf<M> extends infer K
  ? K extends "unary"
    ? (request: RequestOf<M>, options?: CallOptions) => Promise<ResponseOf<M>>
    : K extends "serverStream"
      ? (request: RequestOf<M>, options?: CallOptions) => ClientReadable<ResponseOf<M>>
      : K extends "clientStream"
        ? (options?: CallOptions) => ClientStreamCall<RequestOf<M>, ResponseOf<M>>
        : K extends "bidi"
          ? (options?: CallOptions) => ClientDuplex<RequestOf<M>, ResponseOf<M>>
          : never
  : never;

/** A typed stub: one function per method of the service. */
export type ServiceStub<S> = { readonly [K in keyof S]: StubMethod<S[K]> };

/**
 * A client of one gRPC server.
 * @example
 * const client = new GrpcClient("127.0.0.1:2379");
 * const kv = client.stub(kvService);
 * const res = await kv.Range({ key: Buffer.from("a") }, { timeoutMs: 1000 });
 * for await (const ev of client.bidi(watchService.methods.Watch)) { ... }
 * client.close();
 */
export class GrpcClient {
  private readonly authority: string;
  private readonly connectOptions: http2.SecureClientSessionOptions;
  private readonly maxReceiveBytes: number;
  private readonly maxSendBytes: number;
  private readonly defaultMetadata: OutgoingHttpHeaders;
  private readonly defaultTimeoutMs: number | undefined;
  private readonly baseHeaders = new Map<string, OutgoingHttpHeaders>();
  private session: ClientHttp2Session | null = null;
  /** Why each session failed, for the calls it carried (streams only see a cancellation). */
  private readonly sessionErrors = new WeakMap<ClientHttp2Session, Error>();
  private closedForGood = false;

  /**
   * `target` is `host:port`, `[v6]:port`, or a URL `http://host:port` / `https://host:port`
   * (https implies TLS). Nothing connects until the first call.
   */
  constructor(target: string, options: GrpcClientOptions = {}) {
    const useTls = options.tls !== undefined && options.tls !== false ? true : target.startsWith("https://");
    const hostPort = target.replace(/^https?:\/\//, "").replace(/\/$/, "");
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:/\s]+):\d+$/.test(hostPort)) {
      throw CommonErrors.InvalidArgument(`gRPC target must be host:port or http(s)://host:port, got ${JSON.stringify(target)}`);
    }
    this.authority = `${useTls ? "https" : "http"}://${hostPort}`;
    const tls = typeof options.tls === "object" ? options.tls : {};
    this.connectOptions = useTls
      ? {
          ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
          ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
          ...(tls.key !== undefined ? { key: tls.key } : {}),
          ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
          rejectUnauthorized: tls.rejectUnauthorized ?? true,
          ALPNProtocols: ["h2"],
        }
      : {};
    this.maxReceiveBytes = options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxSendBytes = options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.defaultMetadata = toHeaders(options.metadata);
    this.defaultTimeoutMs = options.defaultTimeoutMs;
  }

  /**
   * Calls a unary method; resolves with the response or rejects with a PhotonError (also when
   * `request` cannot be encoded or exceeds the send limit, before anything is sent).
   */
  unary<Req, Res>(method: MethodDefinition<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const frame = this.frameRequest(method, request);
      let response: Res | undefined;
      let count = 0;
      const sink: ClientCallSink = {
        message: (m) => {
          response = m as Res;
          count++;
        },
        done: (error) => {
          if (error) reject(error);
          else if (count !== 1) reject(GrpcErrors.Protocol(`unary call ${method.path} got ${count} response messages`));
          else resolve(response as Res);
        },
      };
      this.open(method, sink, options)?.sendLast(frame);
    });
  }

  /** Calls a server-streaming method. Throws synchronously when `request` cannot be encoded. */
  serverStream<Req, Res>(method: MethodDefinition<Req, Res>, request: Req, options?: CallOptions): ClientReadable<Res> {
    const frame = this.frameRequest(method, request);
    const { queue, call } = this.openStreaming<Res>(method, options);
    call?.sendLast(frame);
    return readable(queue, call);
  }

  /** Calls a client-streaming method. */
  clientStream<Req, Res>(method: MethodDefinition<Req, Res>, options?: CallOptions): ClientStreamCall<Req, Res> {
    let response: Res | undefined;
    let count = 0;
    let settle: ((e: PhotonError | null) => void) | null = null;
    let outcome: PhotonError | null | undefined;
    const sink: ClientCallSink = {
      message: (m) => {
        response = m as Res;
        count++;
      },
      done: (error) => {
        outcome = error ?? (count === 1 ? null : GrpcErrors.Protocol(`client-streaming call ${method.path} got ${count} response messages`));
        settle?.(outcome);
      },
    };
    const call = this.open(method, sink, options);
    return {
      write: (m: Req) => (call ? call.write(m) : Promise.resolve()),
      cancel: () => call?.cancel(),
      end: () => {
        call?.end();
        return new Promise<Res>((resolve, reject) => {
          settle = (e) => (e ? reject(e) : resolve(response as Res));
          if (outcome !== undefined) settle(outcome);
        });
      },
    };
  }

  /** Calls a bidirectional-streaming method. */
  bidi<Req, Res>(method: MethodDefinition<Req, Res>, options?: CallOptions): ClientDuplex<Req, Res> {
    const { queue, call } = this.openStreaming<Res>(method, options);
    const r = readable(queue, call);
    return {
      write: (m: Req) => (call ? call.write(m) : Promise.resolve()),
      end: () => call?.end(),
      cancel: r.cancel,
      [Symbol.asyncIterator]: r[Symbol.asyncIterator],
    };
  }

  /** A typed object with one function per method of `service`. */
  stub<S extends ServiceShape<S> = AnyService>(service: ServiceDefinition<S>): ServiceStub<S> {
    const stub = Object.create(null) as Record<string, unknown>;
    for (const [name, m] of Object.entries(service.methods as Record<string, MethodDefinition>)) {
      switch (m.kind) {
        case "unary":
          stub[name] = (req: unknown, o?: CallOptions) => this.unary(m, req, o);
          break;
        case "serverStream":
          stub[name] = (req: unknown, o?: CallOptions) => this.serverStream(m, req, o);
          break;
        case "clientStream":
          stub[name] = (o?: CallOptions) => this.clientStream(m, o);
          break;
        case "bidi":
          stub[name] = (o?: CallOptions) => this.bidi(m, o);
          break;
      }
    }
    return stub as ServiceStub<S>;
  }

  /**
   * Closes the session gracefully (calls in flight finish). Later calls fail with
   * `GRPC:Unavailable`.
   */
  close(): void {
    this.closedForGood = true;
    const s = this.session;
    this.session = null;
    if (s && !s.closed && !s.destroyed) s.close();
  }

  private frameRequest(method: MethodDefinition, message: unknown): Buffer {
    const body = method.encodeRequest(message);
    if (body.length > this.maxSendBytes) {
      throw GrpcErrors.MessageTooLarge(`request of ${body.length} bytes is larger than the send limit of ${this.maxSendBytes} bytes`);
    }
    return encodeFrame(body);
  }

  private getSession(): ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const s = http2.connect(this.authority, this.connectOptions);
    s.on("error", (e: Error) => this.sessionErrors.set(s, e));
    const forget = () => {
      if (this.session === s) this.session = null;
    };
    s.on("close", forget);
    s.on("goaway", forget);
    this.session = s;
    return s;
  }

  private headersFor(method: MethodDefinition, options: CallOptions | undefined, timeoutMs: number | undefined): OutgoingHttpHeaders {
    let base = this.baseHeaders.get(method.path);
    if (base === undefined) {
      base = {
        ...this.defaultMetadata,
        ":method": "POST",
        ":path": method.path,
        "content-type": "application/grpc",
        te: "trailers",
      };
      this.baseHeaders.set(method.path, base);
    }
    if (options?.metadata === undefined && timeoutMs === undefined) return base;
    const headers: OutgoingHttpHeaders = { ...base, ...toHeaders(options?.metadata) };
    if (timeoutMs !== undefined) headers["grpc-timeout"] = formatGrpcTimeout(timeoutMs);
    return headers;
  }

  private open(method: MethodDefinition, sink: ClientCallSink, options: CallOptions | undefined): ClientCall | null {
    let timeoutMs = options?.timeoutMs ?? this.defaultTimeoutMs;
    if (options?.deadline !== undefined) {
      const left = options.deadline - Date.now();
      timeoutMs = timeoutMs === undefined ? left : Math.min(timeoutMs, left);
    }
    if (options?.signal?.aborted) {
      sink.done(GrpcErrors.Cancelled("the call was cancelled before it started"));
      return null;
    }
    if (this.closedForGood) {
      sink.done(GrpcErrors.Unavailable("the client is closed"));
      return null;
    }
    if (timeoutMs !== undefined && timeoutMs <= 0) {
      sink.done(GrpcErrors.DeadlineExceeded("the deadline passed before the call started"));
      return null;
    }
    const headers = this.headersFor(method, options, timeoutMs);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.getSession().request(headers);
    } catch {
      // The session got GOAWAY or died between our check and the request: one fresh try.
      this.session = null;
      try {
        stream = this.getSession().request(headers);
      } catch (e) {
        sink.done(GrpcErrors.Unavailable(`cannot start a call: ${(e as Error).message}`, { cause: e }));
        return null;
      }
    }
    const session = this.session as ClientHttp2Session;
    return new ClientCall(
      stream,
      method,
      sink,
      this.maxReceiveBytes,
      this.maxSendBytes,
      timeoutMs,
      options?.signal,
      options?.onResponseMetadata,
      () => this.sessionErrors.get(session),
      session,
    );
  }

  private openStreaming<Res>(method: MethodDefinition, options: CallOptions | undefined): { queue: MessageQueue<Res>; call: ClientCall | null } {
    let call: ClientCall | null = null;
    const queue = new MessageQueue<Res>({
      pause: () => call?.pause(),
      resume: () => call?.resume(),
      abandon: () => call?.cancel(),
    });
    call = this.open(
      method,
      {
        message: (m) => queue.push(m as Res),
        done: (error) => (error ? queue.fail(error) : queue.end()),
      },
      options,
    );
    return { queue, call };
  }
}

function readable<Res>(queue: MessageQueue<Res>, call: ClientCall | null): ClientReadable<Res> {
  return {
    cancel: () => call?.cancel(),
    [Symbol.asyncIterator]: () => queue,
  };
}

function toHeaders(metadata: ClientMetadata | undefined): OutgoingHttpHeaders {
  const out = Object.create(null) as OutgoingHttpHeaders;
  if (!metadata) return out;
  for (const [rawName, value] of Object.entries(metadata)) {
    const name = rawName.toLowerCase();
    if (name.startsWith(":") || name.startsWith("grpc-") || name === "content-type" || name === "te") {
      throw CommonErrors.InvalidArgument(`metadata name ${JSON.stringify(rawName)} is reserved`);
    }
    if (Buffer.isBuffer(value)) {
      if (!name.endsWith("-bin")) throw CommonErrors.InvalidArgument(`binary metadata ${JSON.stringify(rawName)} must end in -bin`);
      out[name] = value.toString("base64");
    } else {
      out[name] = value;
    }
  }
  return out;
}
