/**
 * The server side of bench/grpc/server.bench.ts, run as its own process so its CPU time can be
 * read from /proc: `bun bench/grpc/echo-server.ts photon|photon-h2|grpc-js|floor`. Serves
 * photon.test.Echo/Unary (echoes `message` and `big_number`) on 127.0.0.1:0, prints
 * `{"port":N}` and runs until killed. `floor` is the least any gRPC server on node:http2 must
 * do (collect the body, decode, encode, respond with trailers; no routing, limits, deadlines,
 * errors or reset handling): the lower bound lib/grpc on node:http2 is compared with.
 * `photon` is GrpcServer on its node:http2 transport, `photon-h2` on its raw-socket one (h2/).
 */
import http2 from "node:http2";
import { encodeFrame } from "../../lib/grpc/frame.ts";
import { GrpcServer } from "../../lib/grpc/server.ts";
import { echoService, type EchoRequest } from "../../lib/grpc/testdata/echo-service.ts";
import { grpc, startGrpcJsServer } from "../../lib/grpc/testdata/grpc-js-interop.ts";

const impl = process.argv[2];
const answer = (req: EchoRequest) => ({ message: req.message, bigNumber: req.bigNumber });

let port: number;
if (impl === "photon" || impl === "photon-h2") {
  const server = new GrpcServer({ transport: impl === "photon" ? "node" : "h2" }).addService(echoService, { Unary: answer });
  port = await server.listen(0, "127.0.0.1");
  process.on("SIGTERM", () => void server.stop(0).then(() => process.exit(0)));
} else if (impl === "grpc-js") {
  const started = await startGrpcJsServer(echoService, {
    Unary: (call: grpc.ServerUnaryCall<EchoRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, answer(call.request)),
  });
  port = started.port;
  process.on("SIGTERM", () => {
    started.server.forceShutdown();
    process.exit(0);
  });
} else if (impl === "floor") {
  const method = echoService.methods.Unary;
  const headers = { ":status": 200, "content-type": "application/grpc" };
  const trailers = { "grpc-status": "0" };
  const server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => {});
    stream.on("end", () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      const req = method.decodeRequest(body.subarray(5));
      stream.respond(headers, { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions);
      stream.on("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end(encodeFrame(method.encodeResponse(answer(req))));
    });
  });
  port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  process.on("SIGTERM", () => process.exit(0));
} else {
  console.error("usage: echo-server.ts photon|photon-h2|grpc-js|floor");
  process.exit(2);
}
console.log(JSON.stringify({ port }));
