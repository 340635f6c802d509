/**
 * The OpenAPI 3.1 document of iam's REST API, derived by lib/api from the operation table and
 * proto/iam/v1/iam.proto, so it cannot drift from either.
 */
import { operationsOpenApi } from "../../../lib/api/index.ts";
import { iamGrpcService } from "./grpc.ts";
import { iamOperations } from "./index.ts";

/** The OpenAPI document. */
export function openApiDocument(): object {
  return operationsOpenApi(iamGrpcService(), iamOperations, {
    title: "PhotonCloud iam",
    description: "Identity, tenancy and authorisation. Same operations and error codes as the gRPC API photon.iam.v1.Iam.",
    protoPackage: "photon.iam.v1",
    exampleCode: "IAM:PermissionDenied",
    errorsFile: "services/iam/errors.ts",
  });
}
