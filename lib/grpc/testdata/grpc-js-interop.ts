/**
 * Bridges our service definitions to @grpc/grpc-js (a devDependency), so tests and benchmarks
 * can run grpc-js clients against our server and our client against a grpc-js server with the
 * same .proto and the same protobufjs codecs. Test/bench code only.
 */
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition, ServiceDefinition } from "../service.ts";

/** The grpc-js ServiceDefinition of one of ours. */
export function toGrpcJsService(service: ServiceDefinition<any>): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(service.methods as Record<string, MethodDefinition>)) {
    out[name] = {
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: (v: unknown) => Buffer.from(m.encodeRequest(v)),
      requestDeserialize: (b: Buffer) => m.decodeRequest(b),
      responseSerialize: (v: unknown) => Buffer.from(m.encodeResponse(v)),
      responseDeserialize: (b: Buffer) => m.decodeResponse(b),
    };
  }
  return out as grpc.ServiceDefinition;
}

/** A grpc-js client constructor for one of our services. */
export function grpcJsClient(
  service: ServiceDefinition<any>,
  target: string,
  credentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): grpc.Client & Record<string, any> {
  const Ctor = grpc.makeGenericClientConstructor(toGrpcJsService(service) as grpc.ServiceDefinition<grpc.UntypedServiceImplementation>, service.name);
  return new Ctor(target, credentials, options) as grpc.Client & Record<string, any>;
}

/** Starts a grpc-js server with `impl` on 127.0.0.1:0; resolves with it and its port. */
export async function startGrpcJsServer(
  service: ServiceDefinition<any>,
  impl: grpc.UntypedServiceImplementation,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(toGrpcJsService(service), impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

/** Stops a grpc-js server, forcefully after `graceMs`. */
export function stopGrpcJsServer(server: grpc.Server, graceMs = 500): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

export { grpc };
