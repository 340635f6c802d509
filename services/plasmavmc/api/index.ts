/**
 * plasmavmc's API: one operation table (lib/api) served as REST (`restApp`), gRPC
 * (`photon.plasmavmc.v1.Plasmavmc`, proto/plasmavmc/v1/plasmavmc.proto) and documented as
 * OpenAPI, plus one REST-only route: `PUT /v1/images/{id}/file`, the streamed image upload.
 * Every operation authenticates its caller through iam (IamGuard) first.
 */
import type { Context, Hono } from "hono";
import { isIP } from "node:net";
import { addGrpcOperations, operationsOpenApi, restApp, type ApiDefinition, type OperationRpc } from "../../../lib/api/index.ts";
import { serviceFromRoot, type GrpcServer, type ServiceDefinition } from "../../../lib/grpc/index.ts";
import { loadProtoRoot } from "../../../lib/grpc/protos.ts";
import type { HttpEnv } from "../../../lib/http-server.ts";
import { IamGuard, type GuardCaller } from "../../iam/guard.ts";
import { PlasmavmcErrors } from "../errors.ts";
import { uploadImage } from "../service-image.ts";
import type { PlasmavmcService } from "../service.ts";
import { flavorOperations } from "./flavors.ts";
import { hostOperations } from "./hosts.ts";
import { imageOperations } from "./images.ts";
import type { PlasmavmcOperation } from "./operation.ts";
import { vmOperations } from "./vms.ts";
import { volumeOperations } from "./volumes.ts";

/** Every operation of the API. */
export const plasmavmcOperations: readonly PlasmavmcOperation[] = [...flavorOperations, ...imageOperations, ...vmOperations, ...volumeOperations, ...hostOperations];

/** The gRPC service name. */
export const PLASMAVMC_GRPC_SERVICE = "photon.plasmavmc.v1.Plasmavmc";

let definition: ServiceDefinition<OperationRpc> | undefined;

/** The loaded gRPC service definition (also for clients), from the embedded plasmavmc.proto. */
export function plasmavmcGrpcService(): ServiceDefinition<OperationRpc> {
  return (definition ??= serviceFromRoot<OperationRpc>(loadProtoRoot("plasmavmc/v1/plasmavmc.proto"), PLASMAVMC_GRPC_SERVICE));
}

function api(svc: PlasmavmcService): ApiDefinition<PlasmavmcService, GuardCaller> {
  return {
    service: svc,
    operations: plasmavmcOperations,
    authenticate: (s, req) => s.guard.authenticate(IamGuard.bearer(req.authorization), isIP(req.source) ? req.source : undefined),
    invalid: (message, field) => PlasmavmcErrors.InvalidArgument(message, field ? { details: { field } } : {}),
  };
}

/** The OpenAPI document. */
export function plasmavmcOpenApi(): object {
  return operationsOpenApi(plasmavmcGrpcService(), plasmavmcOperations, {
    title: "PhotonCloud plasmavmc",
    description: "Virtual machines: flavors, images, VMs, volumes and snapshots, hosts, quotas. Same operations and error codes as the gRPC API photon.plasmavmc.v1.Plasmavmc. Image content: PUT /v1/images/{id}/file (streamed body).",
    protoPackage: "photon.plasmavmc.v1",
    exampleCode: "PLASMAVMC:NotFound",
    errorsFile: "services/plasmavmc/errors.ts",
  });
}

function sourceOf(c: Context<HttpEnv>): string | undefined {
  // Bun.serve passes itself as Hono's `c.env` (see lib/api/rest.ts).
  const server = c.env as unknown as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  try {
    const a = server?.requestIP?.(c.req.raw)?.address;
    return a && isIP(a) ? a : undefined;
  } catch {
    return undefined;
  }
}

/** The REST app (mount it with lib/http-server). */
export function plasmavmcRestApp(svc: PlasmavmcService): Hono<HttpEnv> {
  const app = restApp(api(svc), plasmavmcOpenApi);
  app.put("/v1/images/:id/file", async (c) => {
    const caller = await svc.guard.authenticate(IamGuard.bearer(c.req.header("authorization")), sourceOf(c));
    const len = Number(c.req.header("content-length") ?? "NaN");
    const img = await uploadImage(svc, caller, c.req.param("id"), c.req.raw.body, Number.isSafeInteger(len) ? len : undefined);
    c.header("cache-control", "no-store");
    return c.json(img, 200);
  });
  return app;
}

/** Registers the gRPC API on `server`. */
export function addPlasmavmcGrpc(server: GrpcServer, svc: PlasmavmcService): void {
  addGrpcOperations(server, plasmavmcGrpcService(), api(svc));
}
