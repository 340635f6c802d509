/**
 * Regression: a one-member Raft chainfire stopped cleanly (or killed) after writes must reopen
 * with its data. It once refused to start with "application applied N but the log is committed
 * only to M" (the store's applied index ran ahead of the commit index Raft had persisted).
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { startChainfire } from "../../../services/chainfire/server.ts";

const dir = mkdtempSync(join(tmpdir(), "chainfire-restart-"));
const b = (s: string) => new TextEncoder().encode(s);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open = () =>
  startChainfire({
    dataDir: join(dir, "n1"),
    name: "n1",
    host: "127.0.0.1",
    port: 0,
    httpPort: 0,
    peerPort: 0,
    logger: createLogger("chainfire", { level: "error" }),
    metrics: createMetrics("chainfire"),
  });

describe("a one-member Raft chainfire", () => {
  it("reopens after a clean stop with every acknowledged write", async () => {
    const first = await open();
    await first.published;
    for (let i = 0; i < 20; i++) await first.service.put({ key: b(`k${i}`), value: b(String(i)) });
    const rev = first.service.store.currentRevision;
    await first.stop();
    const second = await open();
    await second.published;
    const r = await second.service.range({ key: b("k"), rangeEnd: b("l") });
    expect(r.count).toBe(20);
    expect(second.service.store.currentRevision).toBeGreaterThanOrEqual(rev);
    await second.service.put({ key: b("after"), value: b("restart") });
    await second.stop();
  });
});
