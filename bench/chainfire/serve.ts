/** Runs one chainfire node for benchmarks: `bun bench/chainfire/serve.ts DATA_DIR PORT`; prints "ready". */
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { startChainfire } from "../../services/chainfire/server.ts";

const [dataDir, port] = process.argv.slice(2);
if (!dataDir || !port) throw new Error("usage: serve.ts DATA_DIR PORT");
const server = await startChainfire({
  dataDir,
  name: "bench",
  host: "127.0.0.1",
  port: Number(port),
  httpPort: 0,
  peerPort: 0, // Raft, as photon up runs it (one member)
  logger: createLogger("chainfire", { level: "warn" }),
  metrics: createMetrics("chainfire"),
});
await server.published;
process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
console.log("ready");
