/**
 * lib/api — one operation table served as REST (Hono) and gRPC with the same validation,
 * semantics and error codes, documented as OpenAPI from the same table and the service's .proto.
 * Every service's API layer (iam, novanet, plasmavmc...) is a table of these operations.
 */
export { checkInput, defineOp, type ApiDefinition, type ApiOperation, type ApiRequest, type FieldType } from "./operation.ts";
export { requestSource, restApp } from "./rest.ts";
export { addGrpcOperations, type OperationRpc } from "./grpc.ts";
export { operationsOpenApi, type OpenApiInfo } from "./openapi.ts";
export { grpcTlsOf, startApiServers, type ApiServers, type ApiServersOptions } from "./api-servers.ts";
