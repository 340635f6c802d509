/**
 * A @grpc/grpc-js server of photon.test.Echo, run as its own process by interop.test.ts (an
 * independent peer: its own process, its own HTTP/2 stack state). Prints `{"port":N}` and serves
 * until killed. Unary: fails with NOT_FOUND when `fail` is set (adding photon-error-code when it
 * is "photon"), waits `delay_ms` when set, echoes otherwise. Test code only.
 */
import { echoService, type EchoRequest, type EchoResponse } from "./echo-service.ts";
import { grpc, startGrpcJsServer } from "./grpc-js-interop.ts";

const { server, port } = await startGrpcJsServer(echoService, {
  Unary: (call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>, cb: grpc.sendUnaryData<EchoResponse>) => {
    const req = call.request;
    if (req.fail) {
      const md = new grpc.Metadata();
      if (req.fail === "photon") md.set("photon-error-code", "S3:NoSuchBucket");
      return cb({ code: grpc.status.NOT_FOUND, details: `missing ${req.message} ✓`, metadata: md });
    }
    if (req.delayMs) return void setTimeout(() => cb(null, {}), req.delayMs);
    const who = call.metadata.get("x-who")[0];
    cb(null, { message: req.message, bigNumber: req.bigNumber, metadata: { "x-who": String(who ?? "") } });
  },
  ServerStream: (call: grpc.ServerWritableStream<EchoRequest, EchoResponse>) => {
    for (let i = 0; i < (call.request.count ?? 0); i++) call.write({ index: i });
    call.end();
  },
  ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoResponse>, cb: grpc.sendUnaryData<EchoResponse>) => {
    const parts: string[] = [];
    call.on("data", (m: EchoRequest) => parts.push(m.message ?? ""));
    call.on("end", () => cb(null, { message: parts.join("+") }));
  },
  Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoResponse>) => {
    call.on("data", (m: EchoRequest) => call.write({ message: m.message?.toUpperCase() }));
    call.on("end", () => call.end());
  },
});
process.on("SIGTERM", () => {
  server.forceShutdown();
  process.exit(0);
});
console.log(JSON.stringify({ port }));
