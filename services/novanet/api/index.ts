/**
 * novanet's API: one operation table (lib/api) served as REST (`restApp`), gRPC
 * (`photon.novanet.v1.Novanet`, proto/novanet/v1/novanet.proto) and documented as OpenAPI.
 * Every operation authenticates its caller through iam (IamGuard) first.
 */
import { addGrpcOperations, operationsOpenApi, restApp, type ApiDefinition, type OperationRpc } from "../../../lib/api/index.ts";
import { serviceFromRoot, type GrpcServer, type ServiceDefinition } from "../../../lib/grpc/index.ts";
import { loadProtoRoot } from "../../../lib/grpc/protos.ts";
import type { HttpEnv } from "../../../lib/http-server.ts";
import type { Hono } from "hono";
import { isIP } from "node:net";
import { IamGuard, type GuardCaller } from "../../iam/guard.ts";
import { NovanetErrors } from "../errors.ts";
import type { NovanetService } from "../service.ts";
import type { NovanetOperation } from "./operation.ts";
import { fipOperations } from "./fips.ts";
import { portOperations } from "./ports.ts";
import { quotaOperations } from "./quotas.ts";
import { routerOperations } from "./routers.ts";
import { secgroupOperations } from "./secgroups.ts";
import { subnetOperations } from "./subnets.ts";
import { vpcOperations } from "./vpcs.ts";

/** Every operation of the API. */
export const novanetOperations: readonly NovanetOperation[] = [...vpcOperations, ...subnetOperations, ...portOperations, ...secgroupOperations, ...routerOperations, ...fipOperations, ...quotaOperations];

/** The gRPC service name. */
export const NOVANET_GRPC_SERVICE = "photon.novanet.v1.Novanet";

let definition: ServiceDefinition<OperationRpc> | undefined;

/** The loaded gRPC service definition (also for clients), from the embedded novanet.proto. */
export function novanetGrpcService(): ServiceDefinition<OperationRpc> {
  return (definition ??= serviceFromRoot<OperationRpc>(loadProtoRoot("novanet/v1/novanet.proto"), NOVANET_GRPC_SERVICE));
}

function api(svc: NovanetService): ApiDefinition<NovanetService, GuardCaller> {
  return {
    service: svc,
    operations: novanetOperations,
    authenticate: (s, req) => s.guard.authenticate(IamGuard.bearer(req.authorization), isIP(req.source) ? req.source : undefined),
    invalid: (message, field) => NovanetErrors.InvalidArgument(message, field ? { details: { field } } : {}),
  };
}

/** The OpenAPI document. */
export function novanetOpenApi(): object {
  return operationsOpenApi(novanetGrpcService(), novanetOperations, {
    title: "PhotonCloud novanet",
    description: "Tenant VPC networking: VPCs, subnets, ports, security groups, routers, floating IPs, quotas. Same operations and error codes as the gRPC API photon.novanet.v1.Novanet.",
    protoPackage: "photon.novanet.v1",
    exampleCode: "NOVANET:NotFound",
    errorsFile: "services/novanet/errors.ts",
  });
}

/** The REST app (mount it with lib/http-server). */
export function novanetRestApp(svc: NovanetService): Hono<HttpEnv> {
  return restApp(api(svc), novanetOpenApi);
}

/** Registers the gRPC API on `server`. */
export function addNovanetGrpc(server: GrpcServer, svc: NovanetService): void {
  addGrpcOperations(server, novanetGrpcService(), api(svc));
}
