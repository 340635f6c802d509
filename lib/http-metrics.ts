/**
 * Request metrics of an HTTP server, per route pattern (`/v1/vms/:id`, never the raw path, so
 * series stay bounded): `photon_http_requests_total{method,route,status}`,
 * `photon_http_request_duration_seconds{method,route}` and `photon_http_requests_in_flight`.
 */
import type { Context } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "./metrics.ts";

const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The route label of requests no route matched. */
export const unmatchedRoute = "(unmatched)";

/** Records one request; `route` is its pattern or `unmatchedRoute`. */
export type RequestObserver = (method: string, route: string, status: number, seconds: number) => void;

/** The HTTP metrics of `metrics`, created once per registry and shared by its servers. */
export function httpRequestMetrics(metrics: Metrics): {
  observe: RequestObserver;
  inFlight: { inc(): void; dec(): void };
} {
  const requests = metrics.counter("http_requests_total", "HTTP requests by route and status", ["method", "route", "status"]);
  const duration = metrics.histogram("http_request_duration_seconds", "HTTP request latency", {
    labelNames: ["method", "route"],
  });
  const inFlight = metrics.gauge("http_requests_in_flight", "HTTP requests being served");
  return {
    observe(method, route, status, seconds) {
      const m = knownMethods.has(method) ? method : "OTHER";
      requests.inc({ method: m, route, status: String(status) });
      duration.observe({ method: m, route }, seconds);
    },
    inFlight: { inc: () => inFlight.inc(), dec: () => inFlight.dec() },
  };
}

/** The route pattern that answered `c`, read after the handler ran. */
export function matchedRoute(c: Context): string {
  return routePath(c) || unmatchedRoute;
}
