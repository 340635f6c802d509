/** Starts a throwaway single-node chainfire for a test file (port 0, quiet logs). */
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { startChainfire, type ChainfireServer } from "../../services/chainfire/server.ts";

/** A chainfire node in `dataDir` on free loopback ports. Stop it with `server.stop()`. */
export function startTestChainfire(dataDir: string, name = "n1"): Promise<ChainfireServer> {
  return startChainfire({
    dataDir,
    name,
    host: "127.0.0.1",
    port: 0,
    httpPort: 0,
    logger: createLogger("chainfire", { level: "error" }),
    metrics: createMetrics("chainfire"),
  });
}
