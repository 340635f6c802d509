/** The error codes of configuration loading (`lib/config.ts`). */
import { defineErrors, GrpcStatus } from "./errors.ts";

/**
 * Configuration errors. `CONFIG:Invalid`: the file, an environment variable or a flag is unreadable,
 * unknown or of the wrong type; the message has one line per problem, each naming the key and where
 * its value came from, and `details.problems` lists the same lines.
 */
export const ConfigErrors = defineErrors("CONFIG", {
  Invalid: { grpc: GrpcStatus.INVALID_ARGUMENT, hint: "fix the key named in the message, then restart" },
});
