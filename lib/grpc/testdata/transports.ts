/**
 * The transports every GrpcServer test runs against (`describe.each(GRPC_TRANSPORTS)`): both
 * must pass the same suite, whichever is the default.
 */
import type { GrpcTransportName } from "../server.ts";

/** Both HTTP/2 implementations of GrpcServer. */
export const GRPC_TRANSPORTS: GrpcTransportName[] = ["node", "h2"];
