/** Error catalogue of the storage engine; codes match native/engine/src/error.rs. */
import { defineErrors, GrpcStatus, PhotonError } from "../errors.ts";

/** The engine's errors, by name (code `ENGINE:<Name>`). */
export const EngineErrors = defineErrors("ENGINE", {
  Closed: { grpc: GrpcStatus.UNAVAILABLE, hint: "the database was closed; reopen it" },
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the call: unknown column family, bad bounds, malformed batch" },
  Busy: { grpc: GrpcStatus.UNAVAILABLE, hint: "another process holds the database; stop it or use another data directory" },
  Corruption: { grpc: GrpcStatus.DATA_LOSS, hint: "restore from a replica or backup" },
  IoError: { grpc: GrpcStatus.UNAVAILABLE, hint: "check disk space and permissions of the data directory" },
  NoSuchSnapshot: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "the snapshot was released; take a new one" },
  StorageError: { grpc: GrpcStatus.INTERNAL, hint: "see the message; report it if it persists" },
});

type EngineErrorName = keyof typeof EngineErrors;

const prefix = /^\[ENGINE:([A-Za-z]+)\] ([\s\S]*)$/;

/**
 * Turns an error thrown by the addon (message `[ENGINE:Code] text`) into a PhotonError with
 * that code. Errors from napi argument checks (wrong JS types) become ENGINE:InvalidArgument.
 */
export function fromNative(e: unknown): PhotonError {
  if (e instanceof PhotonError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = prefix.exec(message);
  const name = m?.[1] as EngineErrorName | undefined;
  if (m && name && name in EngineErrors) return EngineErrors[name](m[2] ?? message, { cause: e });
  return EngineErrors.InvalidArgument(message, { cause: e });
}
