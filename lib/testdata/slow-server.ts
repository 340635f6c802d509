/**
 * A tiny service for shutdown.test.ts, run as a child process: one slow route, two cleanup hooks,
 * the signal handlers. It reports what happens as JSON lines on stdout:
 * `listening` (with `port`), `slow-started`, `draining`, `hook` (with `name`).
 * Environment: SLOW_MS (default 500), DRAIN_MS (default 10000), HANG_HOOK=1 for a hook that never ends.
 */
import { Hono } from "hono";
import { startHttpServer } from "../http-server.ts";
import { createLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import { installSignalHandlers, onShutdown, processShutdown } from "../shutdown.ts";

const report = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const slowMs = Number(process.env.SLOW_MS ?? 500);
const logger = createLogger("slow-server");
const app = new Hono().get("/slow", async (c) => {
  report("slow-started");
  await Bun.sleep(slowMs);
  return c.text("slow done");
});

const server = startHttpServer({ component: "slow-server", host: "127.0.0.1", port: 0, app, metrics: createMetrics("slow-server"), logger });
// Registered after the server's own drainer, so it runs once the server has stopped accepting.
processShutdown.onDrain(async () => report("draining"));
onShutdown(() => report("hook", { name: "first-registered" }));
onShutdown(async () => {
  report("hook", { name: "last-registered" });
  if (process.env.HANG_HOOK === "1") await new Promise(() => {});
});
installSignalHandlers({ drainMs: Number(process.env.DRAIN_MS ?? 10_000), logger });
report("listening", { port: server.port });
