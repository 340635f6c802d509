/**
 * lib/grpc — the gRPC server (and a small client) every PhotonCloud service uses.
 *
 * Design constraints:
 * - Not on @grpc/grpc-js: per-call CPU is what limits chainfire and every control-plane service
 *   on small machines (see docs/benchmarks/grpc-server.md). The server runs on its own HTTP/2
 *   transport on Bun's raw sockets (h2/, no Node stream per call; ADR 0017) or on node:http2;
 *   the gRPC logic (server-call.ts) is the same on both. The client uses node:http2.
 * - Wire-exact gRPC over HTTP/2 (doc/PROTOCOL-HTTP2.md of grpc/grpc), so standard clients —
 *   etcdctl (grpc-go), grpc-js, h2load — work against it unchanged.
 * - Contracts are `.proto` files loaded at runtime with protobufjs; each method's codecs are
 *   resolved once (`loadService`), never per call. Message conventions: see service.ts.
 * - One error model: handlers throw PhotonErrors, which travel as gRPC status + message +
 *   `photon-error-code`, and our client rebuilds the same PhotonError from the code.
 * - Survives clients that reset streams at any moment (Bun's node:http2 has quirks here; see
 *   server-call.ts and the quirks section of the benchmark report).
 *
 * @example
 * import { GrpcServer, GrpcClient, loadService, type Unary } from "../lib/grpc/index.ts";
 * interface Greeter { Hello: Unary<{ name: string }, { greeting: string }> }
 * const greeter = loadService<Greeter>("proto/greeter.proto", "demo.Greeter");
 * const server = new GrpcServer().addService(greeter, { Hello: (req) => ({ greeting: `hi ${req.name}` }) });
 * const port = await server.listen(0);
 * const client = new GrpcClient(`127.0.0.1:${port}`);
 * await client.stub(greeter).Hello({ name: "ann" }); // { greeting: "hi ann" }
 */
export { DEFAULT_TRANSPORT, GrpcServer, type GrpcServerOptions, type GrpcTlsOptions, type GrpcTransportName } from "./server.ts";
export {
  GrpcClient,
  type CallOptions,
  type ClientDuplex,
  type ClientMetadata,
  type ClientReadable,
  type ClientStreamCall,
  type ClientWriter,
  type GrpcClientOptions,
  type GrpcClientTlsOptions,
  type ServiceStub,
  type StubMethod,
} from "./client.ts";
export {
  loadRoot,
  loadRootFromSources,
  loadService,
  serviceFromRoot,
  type AnyService,
  type BidiStreaming,
  type ClientStreaming,
  type LoadServiceOptions,
  type LoadSourcesOptions,
  type MethodDefinition,
  type MethodKind,
  type MethodShape,
  type ServerStreaming,
  type ServiceDefinition,
  type ServiceShape,
  type Unary,
} from "./service.ts";
export {
  binaryMetadata,
  type BidiHandler,
  type CallContext,
  type ClientStreamHandler,
  type Interceptor,
  type MetadataValue,
  type ServerDuplex,
  type ServerReader,
  type ServerStreamHandler,
  type ServerWriter,
  type ServiceHandlers,
  type UnaryHandler,
} from "./types.ts";
export { GrpcErrors } from "./errors.ts";
export { PreEncoded } from "./pre-encoded.ts";
export { DEFAULT_MAX_MESSAGE_BYTES } from "./frame.ts";
export { ERROR_CODE_TRAILER, ERROR_DETAILS_TRAILER, genericErrorCode } from "./status.ts";
