/**
 * What the server sends at the end of a call that failed: the status trailers of an error,
 * and the checks on the metadata a handler may add. Kept apart from ServerCall, which only
 * decides when to send them.
 */
import type { OutgoingHttpHeaders } from "node:http2";
import { CommonErrors, GrpcStatus, PhotonError } from "../errors.ts";
import { encodeGrpcMessage, ERROR_CODE_TRAILER, ERROR_DETAILS_TRAILER } from "./status.ts";
import type { MetadataValue } from "./types.ts";

/**
 * The trailers of a failed call. A PhotonError keeps its status, message, code and details
 * (an OK status becomes UNKNOWN: an error cannot succeed). Anything else becomes INTERNAL
 * "internal error" with code PHOTON:Internal, and is handed to `onUnexpected` (to be logged)
 * so that no message or stack of it reaches the client.
 */
export function errorTrailers(error: unknown, onUnexpected: (error: Error) => void): OutgoingHttpHeaders {
  if (!(error instanceof PhotonError)) {
    onUnexpected(error instanceof Error ? error : new Error(String(error)));
    const internal = CommonErrors.Internal("internal error");
    return { "grpc-status": String(internal.grpcStatus), "grpc-message": internal.message, [ERROR_CODE_TRAILER]: internal.code };
  }
  const status = error.grpcStatus === GrpcStatus.OK ? GrpcStatus.UNKNOWN : error.grpcStatus;
  const trailers: OutgoingHttpHeaders = {
    "grpc-status": String(status),
    "grpc-message": encodeGrpcMessage(error.message),
    [ERROR_CODE_TRAILER]: error.code,
  };
  if (error.details) trailers[ERROR_DETAILS_TRAILER] = encodeGrpcMessage(JSON.stringify(error.details));
  return trailers;
}

/** Trailers for a stream that ended under the server without a status of its own. */
export function cancelledTrailers(): OutgoingHttpHeaders {
  return { "grpc-status": String(GrpcStatus.CANCELLED), "grpc-message": "call ended" };
}

// Names a handler may not set: the transport owns them.
const reservedMetadata = /^(:|grpc-|content-type$|te$|user-agent$|content-length$|connection$|transfer-encoding$|photon-error-)/;

/**
 * Validates a response metadata name (lowercased) for `value`; throws PHOTON:InvalidArgument
 * for names that are malformed or reserved, or binary values on names not ending in -bin.
 */
export function checkMetadataName(name: string, value: MetadataValue): string {
  const n = name.toLowerCase();
  if (!/^[0-9a-z_.-]+$/.test(n) || reservedMetadata.test(n)) {
    throw CommonErrors.InvalidArgument(`metadata name ${JSON.stringify(name)} is invalid or reserved`);
  }
  if (typeof value !== "string" && !n.endsWith("-bin")) {
    throw CommonErrors.InvalidArgument(`binary metadata ${JSON.stringify(name)} must end in -bin`);
  }
  return n;
}

/** The wire form of a metadata value: strings as they are, Buffers base64. */
export function metadataValue(value: MetadataValue): string {
  return typeof value === "string" ? value : value.toString("base64");
}
