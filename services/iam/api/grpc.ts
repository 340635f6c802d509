/**
 * The gRPC API (`photon.iam.v1.Iam`, proto/iam/v1/iam.proto): each method runs the operation of
 * the same name with the request message's fields as its input (the proto3 JSON names, the same
 * as the REST API's), so both transports share validation, semantics and error codes.
 */
import { serviceFromRoot, type GrpcServer, type ServiceDefinition, type ServiceHandlers, type Unary } from "../../../lib/grpc/index.ts";
import { loadProtoRoot } from "../../../lib/grpc/protos.ts";
import type protobuf from "protobufjs";
import type { IamService } from "../service.ts";
import type { RequestInfo } from "../types.ts";
import { IAM_GRPC_SERVICE, iamOperations } from "./index.ts";
import { checkInput } from "./operation.ts";

/** Every method is unary; messages are the proto3 JSON shapes of types.ts (loosely typed here). */
export type IamRpc = Record<string, Unary<Record<string, unknown>, any>>;

let definition: ServiceDefinition<IamRpc> | undefined;

/**
 * The loaded service definition (also for clients: `new GrpcClient(addr).stub(iamGrpcService())`),
 * from the embedded copy of iam.proto so that it also works in a compiled executable.
 */
export function iamGrpcService(): ServiceDefinition<IamRpc> {
  return (definition ??= serviceFromRoot<IamRpc>(loadProtoRoot("iam/v1/iam.proto"), IAM_GRPC_SERVICE));
}

/** `host:port` or `[v6]:port` → host. */
function hostOf(peer: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(peer) ?? /^(.*):\d+$/.exec(peer);
  return m ? m[1]! : peer;
}

/** Registers every operation on `server`. */
export function addIamGrpc(server: GrpcServer, svc: IamService): void {
  const service = iamGrpcService();
  const handlers: ServiceHandlers<IamRpc> = Object.create(null);
  for (const o of iamOperations) {
    const method = service.methods[o.name];
    if (!method) throw new Error(`iam.proto has no method ${o.name}`);
    handlers[o.name] = async (request, ctx) => {
      // The server hands decoded protobufjs messages (see lib/grpc/service.ts); toObject wants that type.
      const fields = method.requestType.toObject(request as unknown as protobuf.Message, { longs: Number, defaults: false }) as Record<string, unknown>;
      const auth = ctx.metadata.authorization;
      const req: RequestInfo = { source: hostOf(ctx.peer), ...(typeof auth === "string" ? { authorization: auth } : {}) };
      const caller = o.auth ? await svc.authenticate(req) : undefined; // first: anonymous callers learn nothing
      const input = checkInput(o, fields);
      return (await o.run(svc, caller, input, req)) ?? {};
    };
  }
  server.addService(service, handlers);
}
