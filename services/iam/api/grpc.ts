/**
 * The gRPC API (`photon.iam.v1.Iam`, proto/iam/v1/iam.proto): each method runs the operation of
 * the same name through lib/api, so REST and gRPC share validation, semantics and error codes.
 */
import { addGrpcOperations, type OperationRpc } from "../../../lib/api/index.ts";
import { serviceFromRoot, type GrpcServer, type ServiceDefinition } from "../../../lib/grpc/index.ts";
import { loadProtoRoot } from "../../../lib/grpc/protos.ts";
import type { IamService } from "../service.ts";
import { IAM_GRPC_SERVICE, iamOperations } from "./index.ts";
import { iamApiDefinition } from "./operation.ts";

/** Every method is unary; messages are the proto3 JSON shapes of types.ts (loosely typed here). */
export type IamRpc = OperationRpc;

let definition: ServiceDefinition<IamRpc> | undefined;

/**
 * The loaded service definition (also for clients: `new GrpcClient(addr).stub(iamGrpcService())`),
 * from the embedded copy of iam.proto so that it also works in a compiled executable.
 */
export function iamGrpcService(): ServiceDefinition<IamRpc> {
  return (definition ??= serviceFromRoot<IamRpc>(loadProtoRoot("iam/v1/iam.proto"), IAM_GRPC_SERVICE));
}

/** Registers every operation on `server`. */
export function addIamGrpc(server: GrpcServer, svc: IamService): void {
  addGrpcOperations(server, iamGrpcService(), iamApiDefinition(svc, iamOperations));
}
