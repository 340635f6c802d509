/**
 * iam's API: every operation (one table, see operation.ts), served as REST by `rest.ts` and
 * as gRPC by `grpc.ts`, documented by `openapi.ts`.
 */
import { PROTO_FILES } from "../../../lib/grpc/protos.ts";
import { authOperations } from "./auth.ts";
import { catalogOperations } from "./catalog.ts";
import { credentialOperations } from "./credentials.ts";
import type { ApiOperation } from "./operation.ts";
import { policyOperations } from "./policy.ts";
import { principalOperations } from "./principals.ts";
import { s3Operations } from "./s3.ts";
import { tenancyOperations } from "./tenancy.ts";

/** Every operation of the API. */
export const iamOperations: readonly ApiOperation[] = [
  ...authOperations,
  ...tenancyOperations,
  ...principalOperations,
  ...policyOperations,
  ...credentialOperations,
  ...catalogOperations,
  ...s3Operations,
];

/** Path of the gRPC API's .proto file (the embedded copy inside a compiled executable). */
export const IAM_PROTO: string = PROTO_FILES["iam/v1/iam.proto"]!;
/** The gRPC service name. */
export const IAM_GRPC_SERVICE = "photon.iam.v1.Iam";
