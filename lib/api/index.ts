/**
 * lib/api — one operation table served as REST (Hono) and gRPC with the same validation,
 * semantics and error codes, documented as OpenAPI from the same table and the service's .proto.
 * Extracted from iam's API layer (services/iam/api keeps its own copy) for the other services.
 */
export { checkInput, defineOp, type ApiDefinition, type ApiOperation, type ApiRequest, type FieldType } from "./operation.ts";
export { restApp } from "./rest.ts";
export { addGrpcOperations, type OperationRpc } from "./grpc.ts";
export { operationsOpenApi, type OpenApiInfo } from "./openapi.ts";
