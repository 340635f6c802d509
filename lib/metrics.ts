/**
 * Prometheus metrics of one component, on prom-client. Each `createMetrics` call owns a fresh
 * registry (never prom-client's global one), so two components in one process, or two tests, never
 * collide. Every series carries a `component` label; metrics declared through the helpers are named
 * `photon_<name>`; the default process metrics keep their standard names (`process_cpu_seconds_total`)
 * so stock dashboards work.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Metric, Registry } from "prom-client";
import { CommonErrors } from "./errors.ts";

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /** Collect the default process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

/** Options of a histogram beyond its name and help. */
export interface HistogramOptions<L extends string> {
  labelNames?: readonly L[];
  /** Upper bounds of the buckets; default prom-client's (5 ms .. 10 s, for latencies in seconds). */
  buckets?: number[];
}

/** A component's metrics: its registry, metric factories and the exposition. */
export interface Metrics {
  /** The component named in the `component` label. */
  readonly component: string;
  /** The underlying prom-client registry (for custom collectors). */
  readonly registry: Registry;
  /** `Content-Type` of `render()`'s output (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /**
   * A counter named `photon_<name>`. Asking again for the same name returns the same counter.
   * @throws PhotonError `PHOTON:InvalidArgument` if the name is not snake_case, starts with `photon_`,
   *   or is already used by a metric of another type.
   */
  counter<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  /** A gauge named `photon_<name>`; same rules as `counter`. */
  gauge<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  /** A histogram named `photon_<name>`; same rules as `counter`. Name it with its unit (`_seconds`, `_bytes`). */
  histogram<L extends string = string>(name: string, help: string, options?: HistogramOptions<L>): Histogram<L>;
  /** Every metric of the registry in the Prometheus text exposition format. */
  render(): Promise<string>;
}

const metricName = /^[a-z][a-z0-9_]*$/;

/**
 * Creates the metrics of `component` (a fresh registry with `component` as default label).
 * @throws PhotonError `PHOTON:InvalidArgument` if `component` is empty.
 * @example
 * const metrics = createMetrics("chainfire");
 * const puts = metrics.counter("kv_puts_total", "Keys written", ["result"]);
 * puts.inc({ result: "ok" });
 * await metrics.render(); // 'photon_kv_puts_total{result="ok",component="chainfire"} 1' among others
 */
export function createMetrics(component: string, options: MetricsOptions = {}): Metrics {
  if (component === "") throw CommonErrors.InvalidArgument("metrics: component must not be empty");
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const existing = <T>(name: string, type: abstract new (...args: never[]) => T): T | undefined => {
    if (!metricName.test(name) || name.startsWith("photon_")) {
      throw CommonErrors.InvalidArgument(`metrics: name "${name}" must be snake_case without the photon_ prefix`);
    }
    const found: Metric | undefined = registry.getSingleMetric(`photon_${name}`);
    if (found === undefined) return undefined;
    if (!(found instanceof type)) {
      throw CommonErrors.InvalidArgument(`metrics: photon_${name} already exists with another type`);
    }
    return found;
  };

  return {
    component,
    registry,
    contentType: registry.contentType,
    counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) {
      return (
        existing<Counter<L>>(name, Counter) ??
        new Counter<L>({ name: `photon_${name}`, help, labelNames, registers: [registry] })
      );
    },
    gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) {
      return (
        existing<Gauge<L>>(name, Gauge) ?? new Gauge<L>({ name: `photon_${name}`, help, labelNames, registers: [registry] })
      );
    },
    histogram<L extends string = string>(name: string, help: string, opts: HistogramOptions<L> = {}) {
      return (
        existing<Histogram<L>>(name, Histogram) ??
        new Histogram<L>({
          name: `photon_${name}`,
          help,
          labelNames: opts.labelNames ?? [],
          ...(opts.buckets ? { buckets: opts.buckets } : {}),
          registers: [registry],
        })
      );
    },
    render: () => registry.metrics(),
  };
}
