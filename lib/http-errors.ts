/**
 * The one error boundary of HTTP servers: what a thrown value becomes on the wire. A PhotonError
 * keeps its code, message and status; Hono's HTTPException (thrown by its validators and
 * middleware) maps to the common code of its status; anything else is a bug and becomes
 * `PHOTON:Internal` with a generic message, so no internal detail or stack trace reaches the caller.
 */
import { HTTPException } from "hono/http-exception";
import { CommonErrors, GrpcStatus, PhotonError } from "./errors.ts";

/** A thrown value turned into the error sent back, and whether it is a server-side fault to log. */
export interface BoundaryError {
  error: PhotonError;
  /** True for 5xx: the server's fault, to be logged with its stack. */
  serverFault: boolean;
}

function fromHttpException(e: HTTPException, requestId: string): PhotonError {
  const message = e.message || `HTTP ${e.status}`;
  switch (e.status) {
    case 401:
      return CommonErrors.Unauthenticated(message, { cause: e });
    case 403:
      return CommonErrors.PermissionDenied(message, { cause: e });
    case 404:
      return CommonErrors.NotFound(message, { cause: e });
    case 503:
      return CommonErrors.Unavailable(message, { cause: e });
  }
  if (e.status >= 400 && e.status < 500) {
    return new PhotonError("PHOTON:InvalidArgument", message, { grpc: GrpcStatus.INVALID_ARGUMENT, http: e.status, cause: e });
  }
  return CommonErrors.Internal("internal error", { cause: e, details: { requestId } });
}

/**
 * Maps anything thrown by a handler to the PhotonError to send. `requestId` is attached to
 * `PHOTON:Internal` errors made here (as `details.requestId`) so a report can be matched to the log.
 */
export function boundaryError(thrown: unknown, requestId: string): BoundaryError {
  let error: PhotonError;
  if (thrown instanceof PhotonError) error = thrown;
  else if (thrown instanceof HTTPException) error = fromHttpException(thrown, requestId);
  else error = CommonErrors.Internal("internal error", { cause: thrown, details: { requestId } });
  return { error, serverFault: error.status >= 500 };
}

/** The JSON response of a PhotonError: its `toJSON()` body with its HTTP status. */
export function errorResponse(error: PhotonError, headers: Record<string, string> = {}): Response {
  return Response.json(error.toJSON(), { status: error.status, headers });
}
