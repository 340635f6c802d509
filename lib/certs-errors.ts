/** Error codes of the development certificate authority (`lib/certs.ts`, `photon certs`). */

import { defineErrors, GrpcStatus } from "./errors.ts";

/** The catalogue of CERTS:* errors; `photon certs` exits 2 on any of them. */
export const CertsErrors = defineErrors("CERTS", {
  InvalidArgument: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the named option or value" },
  DirNotWritable: {
    grpc: GrpcStatus.FAILED_PRECONDITION,
    hint: "pick a directory you can create and write, or fix its permissions",
  },
  CaIncomplete: {
    grpc: GrpcStatus.FAILED_PRECONDITION,
    hint: "restore both ca.crt and ca.key, or pass force to make a new CA (every certificate is reissued)",
  },
  CaInvalid: {
    grpc: GrpcStatus.FAILED_PRECONDITION,
    hint: "ca.crt/ca.key are unreadable, do not match or are not a CA; restore them or pass force",
  },
});
