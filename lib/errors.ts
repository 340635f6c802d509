/**
 * The one error model of PhotonCloud. Every failure that crosses an API boundary is a
 * `PhotonError` with a stable namespaced `code` (`CHAINFIRE:NotLeader`, `S3:NoSuchBucket`), an
 * HTTP status and a gRPC status. Services list their codes once in their `errors.ts` (see
 * `defineErrors`); clients rebuild errors from `code`, never by matching messages.
 */

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code number. */
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** The HTTP status that conventionally goes with each gRPC status. */
const httpForGrpc: Record<GrpcStatusCode, number> = {
  0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400,
  12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
};

/** Options of a PhotonError beyond its code and message. */
export interface PhotonErrorOptions {
  /** gRPC status; defaults to UNKNOWN. */
  grpc?: GrpcStatusCode;
  /** HTTP status; defaults to the conventional mapping of `grpc`. */
  http?: number;
  /** The underlying error. */
  cause?: unknown;
  /** Structured details safe to show the caller (never secrets). */
  details?: Record<string, unknown>;
}

/**
 * An error with a stable code. `code` is `NAMESPACE:Name`; `status` is the HTTP status and
 * `grpcStatus` the gRPC one.
 */
export class PhotonError extends Error {
  readonly code: string;
  readonly status: number;
  readonly grpcStatus: GrpcStatusCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: PhotonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PhotonError";
    this.code = code;
    this.grpcStatus = options.grpc ?? GrpcStatus.UNKNOWN;
    this.status = options.http ?? httpForGrpc[this.grpcStatus];
    this.details = options.details;
  }

  /** The JSON body every REST API returns for this error. */
  toJSON(): { error: { code: string; message: string; details?: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

/** One entry of a service's error catalogue. */
export interface ErrorSpec {
  grpc: GrpcStatusCode;
  http?: number;
  /** What the caller can do about it (documentation only). */
  hint: string;
}

/**
 * Declares a service's error catalogue once and returns a factory per code.
 * @example
 * export const Errors = defineErrors("ENGINE", { Closed: { grpc: GrpcStatus.UNAVAILABLE, hint: "reopen" } });
 * throw Errors.Closed("database is closed");
 */
export function defineErrors<K extends string>(
  namespace: string,
  specs: Record<K, ErrorSpec>,
): Record<K, (message: string, options?: Omit<PhotonErrorOptions, "grpc" | "http">) => PhotonError> {
  const out = Object.create(null) as Record<K, (message: string, options?: PhotonErrorOptions) => PhotonError>;
  for (const name of Object.keys(specs) as K[]) {
    const spec = specs[name];
    out[name] = (message, options = {}) =>
      new PhotonError(`${namespace}:${name}`, message, { ...options, grpc: spec.grpc, http: spec.http });
  }
  return out;
}

/** Common codes shared by every service. */
export const CommonErrors = defineErrors("PHOTON", {
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the request; the message names the field" },
  NotFound: { grpc: GrpcStatus.NOT_FOUND, hint: "check the name or id" },
  AlreadyExists: { grpc: GrpcStatus.ALREADY_EXISTS, hint: "pick another name or fetch the existing resource" },
  Unauthenticated: { grpc: GrpcStatus.UNAUTHENTICATED, hint: "log in again or send a valid token" },
  PermissionDenied: { grpc: GrpcStatus.PERMISSION_DENIED, hint: "ask for a role binding that allows the action" },
  Unavailable: { grpc: GrpcStatus.UNAVAILABLE, hint: "retry with backoff" },
  Internal: { grpc: GrpcStatus.INTERNAL, hint: "a bug: report it with the request id" },
  Unimplemented: { grpc: GrpcStatus.UNIMPLEMENTED, hint: "the method does not exist on this server" },
  ShuttingDown: { grpc: GrpcStatus.UNAVAILABLE, hint: "the server is draining; retry on another" },
});

/** Wraps anything thrown into a PhotonError (unknown errors become PHOTON:Internal). */
export function toPhotonError(e: unknown): PhotonError {
  if (e instanceof PhotonError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return CommonErrors.Internal(message, { cause: e });
}
