import { describe, expect, it } from "bun:test";
import { connect } from "node:net";
import { join } from "node:path";
import { createLogger } from "./log.ts";
import { ShutdownCoordinator } from "./shutdown.ts";

const quiet = createLogger("test", { sink: { write: () => {} } });

describe("ShutdownCoordinator", () => {
  it("drains first, then runs hooks in reverse order of registration", async () => {
    const seen: string[] = [];
    const coordinator = new ShutdownCoordinator({ logger: quiet });
    coordinator.onShutdown(() => void seen.push("opened first"));
    coordinator.onShutdown(async () => {
      await Bun.sleep(5);
      seen.push("opened second");
    });
    coordinator.onDrain(async (deadline) => {
      await Bun.sleep(10);
      seen.push(`drained within ${deadline}`);
    });
    expect(coordinator.state).toBe("running");
    const done = coordinator.run("test");
    expect(coordinator.state).toBe("shutting-down");
    expect(await done).toBe(0);
    expect(coordinator.state).toBe("stopped");
    expect(seen).toEqual(["drained within 10000", "opened second", "opened first"]);
  });

  it("keeps running hooks after one fails, and reports exit code 1", async () => {
    const seen: string[] = [];
    const coordinator = new ShutdownCoordinator({ logger: quiet });
    coordinator.onShutdown(() => void seen.push("a"));
    coordinator.onShutdown(() => {
      throw new Error("flush failed");
    });
    expect(await coordinator.run("test")).toBe(1);
    expect(seen).toEqual(["a"]);
  });

  it("gives up on hooks that overrun their deadline with exit code 1", async () => {
    const coordinator = new ShutdownCoordinator({ logger: quiet, hookTimeoutMs: 50 });
    coordinator.onShutdown(() => new Promise(() => {}));
    expect(await coordinator.run("test")).toBe(1);
  });

  it("runs once however often it is asked", async () => {
    let runs = 0;
    const coordinator = new ShutdownCoordinator({ logger: quiet });
    coordinator.onShutdown(() => void runs++);
    const first = coordinator.run("a");
    expect(coordinator.run("b")).toBe(first);
    await first;
    expect(runs).toBe(1);
  });

  it("forgets unregistered hooks and drainers", async () => {
    let called = false;
    const coordinator = new ShutdownCoordinator({ logger: quiet });
    coordinator.onShutdown(() => void (called = true))();
    coordinator.onDrain(async () => void (called = true))();
    await coordinator.run("test");
    expect(called).toBe(false);
  });
});

/** A child process running lib/testdata/slow-server.ts, with its stdout events. */
function spawnServer(env: Record<string, string> = {}) {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "testdata", "slow-server.ts")], {
    env: { ...process.env, PHOTON_LOG_LEVEL: "error", ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  const events: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (e: Record<string, unknown>) => void }[] = [];
  void (async () => {
    let buffered = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const e = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        events.push(e);
        for (const w of waiters.filter((w) => w.event === e.event)) w.resolve(e);
      }
    }
  })();
  const waitFor = (event: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const seen = events.find((e) => e.event === event);
      if (seen) resolve(seen);
      else waiters.push({ event, resolve });
    });
  return { child, events, waitFor };
}

/** Whether a new TCP connection to 127.0.0.1:port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

describe("graceful shutdown of a real process", () => {
  it("on SIGTERM finishes the in-flight request, refuses new connections, runs hooks and exits 0", async () => {
    const { child, events, waitFor } = spawnServer({ SLOW_MS: "500" });
    try {
      const { port } = (await waitFor("listening")) as { port: number };
      const slow = fetch(`http://127.0.0.1:${port}/slow`);
      await waitFor("slow-started");
      child.kill("SIGTERM");
      await waitFor("draining");
      expect(await refused(port)).toBe(true);
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("slow done");
      expect(await child.exited).toBe(0);
      expect(events.filter((e) => e.event === "hook").map((e) => e.name)).toEqual(["last-registered", "first-registered"]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("on SIGINT cuts a request still running at the drain deadline and still exits 0", async () => {
    const { child, waitFor } = spawnServer({ SLOW_MS: "5000", DRAIN_MS: "200" });
    try {
      const { port } = (await waitFor("listening")) as { port: number };
      const slow = fetch(`http://127.0.0.1:${port}/slow`).then(
        (r) => r.status,
        () => "cut",
      );
      await waitFor("slow-started");
      const t0 = performance.now();
      child.kill("SIGINT");
      expect(await slow).toBe("cut");
      expect(await child.exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(2_000);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("exits 1 at once on a second signal", async () => {
    const { child, waitFor } = spawnServer({ HANG_HOOK: "1" });
    try {
      await waitFor("listening");
      child.kill("SIGTERM");
      await waitFor("hook");
      child.kill("SIGTERM");
      expect(await child.exited).toBe(1);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
