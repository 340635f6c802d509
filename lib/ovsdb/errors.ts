/** The OVSDB client's error catalogue (RFC 7047 protocol failures, as PhotonErrors). */
import { defineErrors, GrpcStatus } from "../errors.ts";

/** OVSDB client errors by name. */
export const OvsdbErrors = defineErrors("OVSDB", {
  ConnectionFailed: {
    grpc: GrpcStatus.UNAVAILABLE,
    hint: "the server is not listening at the given socket/address; start it or fix the remote",
  },
  Disconnected: {
    grpc: GrpcStatus.UNAVAILABLE,
    hint: "the connection dropped while the request was in flight; the client reconnects, retry the request",
  },
  Closed: { grpc: GrpcStatus.UNAVAILABLE, hint: "the client was closed; create a new one" },
  Timeout: { grpc: GrpcStatus.DEADLINE_EXCEEDED, hint: "the server did not answer in time; check its load and retry" },
  TransactionFailed: {
    grpc: GrpcStatus.ABORTED,
    hint: "the server rejected the transaction (details.error/details.details say why); nothing of it was committed",
  },
  RpcError: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    hint: "the server refused the request (unknown database, bad method or params); details.error says why",
  },
  ProtocolError: {
    grpc: GrpcStatus.INTERNAL,
    hint: "the peer sent bytes that are not RFC 7047 JSON-RPC; check that the remote is an OVSDB server",
  },
  InvalidValue: {
    grpc: GrpcStatus.INVALID_ARGUMENT,
    hint: "a value does not fit the column's schema type; the message names table and column",
  },
});
