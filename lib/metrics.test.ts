import { describe, expect, it } from "bun:test";
import { PhotonError } from "./errors.ts";
import { createMetrics } from "./metrics.ts";

describe("createMetrics", () => {
  it("renders counters, gauges and histograms with the photon_ prefix and the component label", async () => {
    const metrics = createMetrics("chainfire", { processMetrics: false });
    metrics.counter("kv_puts_total", "Keys written", ["result"]).inc({ result: "ok" }, 2);
    metrics.gauge("raft_term", "Current term").set(7);
    metrics.histogram("apply_seconds", "Apply latency", { buckets: [0.1, 1] }).observe(0.5);
    const text = await metrics.render();
    expect(text).toContain("# HELP photon_kv_puts_total Keys written");
    expect(text).toContain("# TYPE photon_kv_puts_total counter");
    expect(text).toContain('photon_kv_puts_total{result="ok",component="chainfire"} 2');
    expect(text).toContain('photon_raft_term{component="chainfire"} 7');
    expect(text).toContain('photon_apply_seconds_bucket{le="0.1",component="chainfire"} 0');
    expect(text).toContain('photon_apply_seconds_bucket{le="1",component="chainfire"} 1');
    expect(text).toContain('photon_apply_seconds_count{component="chainfire"} 1');
  });

  it("includes the default process metrics under their standard names", async () => {
    const text = await createMetrics("iam").render();
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(text).toContain('process_resident_memory_bytes{component="iam"}');
  });

  it("announces the Prometheus text content type", () => {
    expect(createMetrics("iam", { processMetrics: false }).contentType).toStartWith("text/plain; version=0.0.4");
  });

  it("keeps each component's registry apart", async () => {
    const a = createMetrics("a", { processMetrics: false });
    const b = createMetrics("b", { processMetrics: false });
    a.counter("x_total", "x").inc();
    b.counter("x_total", "x").inc(5);
    expect(await a.render()).toContain('photon_x_total{component="a"} 1');
    expect(await b.render()).toContain('photon_x_total{component="b"} 5');
  });

  it("returns the same metric when asked twice for a name", () => {
    const metrics = createMetrics("a", { processMetrics: false });
    expect(metrics.counter("y_total", "y")).toBe(metrics.counter("y_total", "y"));
  });

  it("rejects a name reused with another type", () => {
    const metrics = createMetrics("a", { processMetrics: false });
    metrics.counter("z_total", "z");
    expect(() => metrics.gauge("z_total", "z")).toThrow(PhotonError);
  });

  it("rejects names that are not snake_case or already carry the prefix", () => {
    const metrics = createMetrics("a", { processMetrics: false });
    expect(() => metrics.counter("Bad-Name", "x")).toThrow(/snake_case/);
    expect(() => metrics.counter("photon_twice_total", "x")).toThrow(/photon_ prefix/);
  });
});
