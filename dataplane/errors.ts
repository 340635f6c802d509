/** The data plane drivers' error catalogue. */
import { defineErrors, GrpcStatus } from "../lib/errors.ts";

/** Data plane errors by name. */
export const DataplaneErrors = defineErrors("DATAPLANE", {
  InvalidState: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    hint: "fix the desired state; the message names the field. Nothing was changed on the host",
  },
  CommandFailed: {
    grpc: GrpcStatus.INTERNAL,
    hint: "a system command refused a change; details hold its stderr. Apply again after fixing the cause",
  },
  MissingNamespace: {
    grpc: GrpcStatus.FAILED_PRECONDITION,
    hint: "create the network namespace (the VM's or the host's) before applying",
  },
});
