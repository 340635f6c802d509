import { describe, expect, it } from "bun:test";
import type { Component } from "../../lib/component.ts";
import { loadConfig } from "../../lib/config.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { localAgentsUnavailable, withLocalAgents } from "./local-agents.ts";

describe("photon up's local agents", () => {
  it("are not started, with the reason, when turned off, without root, or with a missing namespace", () => {
    expect(localAgentsUnavailable(loadConfig({ env: { PHOTON_PLASMAVMC_LOCAL_AGENT: "false" } }))).toContain("local_agent = false");
    const reason = localAgentsUnavailable(loadConfig({ env: { PHOTON_PLASMAVMC_AGENT_NETNS: `no-such-ns-${process.pid}` } }));
    if (process.getuid?.() !== 0) expect(reason).toContain("not root");
    else expect(reason).toMatch(/no-such-ns|missing/);
  });

  it("show the reason in the component's `agents` endpoint, keeping its own endpoints and health", async () => {
    const stopped: string[] = [];
    const api: Component = {
      name: "plasmavmc", description: "the API",
      start: async () => ({ endpoints: { http: "http://127.0.0.1:3" }, healthUrl: "http://127.0.0.1:3/healthz", stop: async () => void stopped.push("api") }),
    };
    const config = loadConfig({ env: { PHOTON_PLASMAVMC_LOCAL_AGENT: "false" } });
    const run = await withLocalAgents(api).start({
      config, dataDir: "/nonexistent/plasmavmc", logger: createLogger("test", { level: "error" }), metrics: createMetrics("test"),
      endpoints: { chainfire: { etcd: "http://127.0.0.1:1" }, iam: { http: "http://127.0.0.1:2" } },
    });
    expect(run.endpoints).toEqual({ http: "http://127.0.0.1:3", agents: "off: [plasmavmc] local_agent = false" });
    expect(run.healthUrl).toBe("http://127.0.0.1:3/healthz");
    await run.stop();
    expect(stopped).toEqual(["api"]);
  });
});
