/**
 * The gRPC transport of an operation table: each method runs the operation of the same name with
 * the request message's fields as its input (the proto3 JSON names, the same as the REST API's).
 */
import type protobuf from "protobufjs";
import { type GrpcServer, type ServiceDefinition, type ServiceHandlers, type Unary } from "../grpc/index.ts";
import { checkInput, type ApiDefinition, type ApiRequest } from "./operation.ts";

/** Every method is unary; messages are loosely typed JSON shapes here. */
export type OperationRpc = Record<string, Unary<Record<string, unknown>, any>>;

/** `host:port` or `[v6]:port` → host. */
function hostOf(peer: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(peer) ?? /^(.*):\d+$/.exec(peer);
  return m ? m[1]! : peer;
}

/**
 * Registers every operation of `def` on `server` as a method of `service`.
 * @throws Error when the .proto lacks a method of the table (a build-time mistake).
 */
export function addGrpcOperations<S, C>(server: GrpcServer, service: ServiceDefinition<OperationRpc>, def: ApiDefinition<S, C>): void {
  const handlers: ServiceHandlers<OperationRpc> = Object.create(null);
  for (const o of def.operations) {
    const method = service.methods[o.name];
    if (!method) throw new Error(`the proto has no method ${o.name}`);
    handlers[o.name] = async (request, ctx) => {
      // The server hands decoded protobufjs messages (see lib/grpc/service.ts); toObject wants that type.
      const fields = method.requestType.toObject(request as unknown as protobuf.Message, { longs: Number, defaults: false }) as Record<string, unknown>;
      const auth = ctx.metadata.authorization;
      const req: ApiRequest = { source: hostOf(ctx.peer), ...(typeof auth === "string" ? { authorization: auth } : {}) };
      const caller = o.auth ? await def.authenticate(def.service, req) : undefined;
      const input = checkInput(o, fields, def.invalid);
      return (await o.run(def.service, caller, input, req)) ?? {};
    };
  }
  server.addService(service, handlers);
}
