import { describe, expect, it } from "bun:test";
import { httpRequestMetrics } from "./http-metrics.ts";
import { createMetrics } from "./metrics.ts";

describe("httpRequestMetrics", () => {
  it("counts requests by method, route and status and folds unusual methods into OTHER", async () => {
    const metrics = createMetrics("t", { processMetrics: false });
    const http = httpRequestMetrics(metrics);
    http.observe("GET", "/v1/x/:id", 200, 0.01);
    http.observe("BREW", "/v1/x/:id", 404, 0.01);
    const text = await metrics.render();
    expect(text).toContain('photon_http_requests_total{method="GET",route="/v1/x/:id",status="200",component="t"} 1');
    expect(text).toContain('photon_http_requests_total{method="OTHER",route="/v1/x/:id",status="404",component="t"} 1');
  });

  it("shares one set of series between servers of the same registry", () => {
    const metrics = createMetrics("t", { processMetrics: false });
    expect(() => {
      httpRequestMetrics(metrics);
      httpRequestMetrics(metrics);
    }).not.toThrow();
  });
});
