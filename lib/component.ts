/**
 * What the all-in-one supervisor (`photon up`) runs: components. Each service exposes one
 * `Component`; in a cluster the same component runs alone in its own process.
 */
import type { PhotonConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** What a component gets from the process that starts it. */
export interface ComponentContext {
  readonly config: PhotonConfig;
  /** Absolute path of the component's own directory (`<data_dir>/<name>`), already created. */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * The endpoints of the components started before this one, by component name
   * (`endpoints.chainfire.etcd`): how a component finds the ones it depends on.
   */
  readonly endpoints: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** A started component. */
export interface RunningComponent {
  /** Named endpoints, e.g. `{ http: "http://127.0.0.1:7071", grpc: "127.0.0.1:2379" }`. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** URL answering 200 while the component is healthy. */
  readonly healthUrl: string;
  /** Drains and stops; resolves when every resource is released. */
  stop(): Promise<void>;
}

/** A PhotonCloud component that the supervisor can start. */
export interface Component {
  /** Its name, as in DESIGN.md (`chainfire`, `iam`, ...). */
  readonly name: string;
  /** One line on what it is. */
  readonly description: string;
  /** Starts it; rejects (with a PhotonError) if it cannot. */
  start(ctx: ComponentContext): Promise<RunningComponent>;
}

/** One component's entry in the supervisor's status. */
export interface ComponentStatus {
  name: string;
  description: string;
  state: "running" | "failed" | "stopped";
  endpoints: Record<string, string>;
  healthUrl: string;
  error?: string;
}

/** The supervisor's `/v1/status` document, read by `photon status`. */
export interface SupervisorStatus {
  node: string;
  version: string;
  pid: number;
  startedAt: string;
  dataDir: string;
  components: ComponentStatus[];
}

/** TLS files of a listener, from `[tls]`. */
export interface ListenerTls {
  certFile: string;
  keyFile: string;
  caFile?: string;
  requireClientCert: boolean;
}

/** The `[tls]` section as a listener's TLS files, or undefined when TLS is off. */
export function listenerTls(config: PhotonConfig): ListenerTls | undefined {
  const t = config.tls;
  if (!t.enabled || !t.cert_file || !t.key_file) return undefined;
  return { certFile: t.cert_file, keyFile: t.key_file, ...(t.ca_file ? { caFile: t.ca_file } : {}), requireClientCert: t.require_client_cert };
}
