/**
 * `startIam`: one iam replica — its state from chainfire (through lib/etcd), the REST API with
 * `/healthz`, `/readyz`, `/metrics` and `/openapi.json` (lib/http-server), and the gRPC API
 * (lib/grpc). Any number of replicas may share one chainfire and one KEK file; each keeps its
 * evaluator, revocations and keys fresh from the store's watch.
 */
import { join } from "node:path";
import { GrpcServer, type GrpcTlsOptions } from "../../lib/grpc/index.ts";
import { startHttpServer, type HttpServer, type HttpTlsOptions } from "../../lib/http-server.ts";
import type { Logger } from "../../lib/log.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { mkdirSync, readFileSync } from "node:fs";
import { addIamGrpc } from "./api/grpc.ts";
import { iamRestApp } from "./api/rest.ts";
import { AuditLog } from "./audit.ts";
import { bootstrap } from "./bootstrap.ts";
import { loadOrCreateKek } from "./kek.ts";
import { LoginLimiter, type LoginLimiterOptions } from "./login-limiter.ts";
import { IamReplica } from "./replica.ts";
import { registerDirect } from "./service-catalog.ts";
import { IamService } from "./service.ts";
import { EtcdIamStore } from "./store-etcd.ts";
import { SecretCipher } from "./tokens/access-key.ts";

/** The issuer of tokens when none is configured: every replica must agree on it. */
export const DEFAULT_ISSUER = "photon-iam";

/** Options of startIam. */
export interface IamServerOptions {
  /** chainfire (or etcd) client endpoints. */
  etcdEndpoints: string[];
  /** iam's data directory (`<data_dir>/iam`): the KEK and the bootstrap credentials live here. */
  dataDir: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  /** Token issuer (`iss`); default `photon-iam`. */
  issuer?: string;
  /** KEK file; default `<dataDir>/kek`. */
  kekFile?: string;
  /** Create the administrator, default organisation and project on the first start. Default true. */
  bootstrap?: boolean;
  /** Data-plane services (e.g. `lightningstor`) whose identity file bootstrap keeps (ADR 0012). */
  services?: readonly string[];
  /** This replica's name in the service catalog; default `<host>-<http port>`. */
  instance?: string;
  /** Endpoints to put in the service catalog at start (`photon up` registers what it started). */
  register?: { service: string; instance?: string; endpoints: Record<string, string> }[];
  tls?: HttpTlsOptions;
  keyRotationMs?: number;
  housekeepingMs?: number;
  limiter?: Omit<LoginLimiterOptions, "now">;
  logger: Logger;
  metrics: Metrics;
}

/** A running replica. */
export interface IamServer {
  readonly http: HttpServer;
  /** gRPC `host:port`. */
  readonly grpcEndpoint: string;
  readonly service: IamService;
  readonly replica: IamReplica;
  /** The bootstrap credentials file when this start created it. */
  readonly credentialsFile: string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a replica; resolves once it has loaded the state and both APIs listen.
 * @throws ETCD:* when chainfire cannot be reached, IAM:InvalidArgument for a bad KEK file,
 *   PHOTON:Unavailable when a port is taken.
 */
export async function startIam(options: IamServerOptions): Promise<IamServer> {
  const { logger } = options;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const store = new EtcdIamStore({ endpoints: options.etcdEndpoints });
  let replica: IamReplica | undefined;
  let http: HttpServer | undefined;
  let grpc: GrpcServer | undefined;
  try {
    const cipher = new SecretCipher(loadOrCreateKek(options.kekFile || join(options.dataDir, "kek")));
    replica = await IamReplica.open({
      store,
      cipher,
      issuer: options.issuer || DEFAULT_ISSUER,
      logger,
      ...(options.keyRotationMs !== undefined ? { keyRotationMs: options.keyRotationMs } : {}),
      ...(options.housekeepingMs !== undefined ? { housekeepingMs: options.housekeepingMs } : {}),
    });
    const service = new IamService({ replica, store, audit: new AuditLog(store, logger), limiter: new LoginLimiter(store, options.limiter), cipher, logger });
    http = startHttpServer({
      component: "iam",
      host: options.host,
      port: options.httpPort,
      app: iamRestApp(service),
      metrics: options.metrics,
      logger,
      shutdown: null,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    const grpcTls: GrpcTlsOptions | undefined = options.tls
      ? {
          cert: readFileSync(options.tls.certFile),
          key: readFileSync(options.tls.keyFile),
          ...(options.tls.caFile ? { ca: readFileSync(options.tls.caFile) } : {}),
          ...(options.tls.requireClientCert ? { requestCert: true, rejectUnauthorized: true } : {}),
        }
      : undefined;
    grpc = new GrpcServer({ logger, ...(grpcTls ? { tls: grpcTls } : {}) });
    addIamGrpc(grpc, service);
    const grpcPort = await grpc.listen(options.grpcPort, options.host);
    const grpcHost = options.host === "0.0.0.0" ? "127.0.0.1" : options.host === "::" ? "[::1]" : options.host;
    const grpcEndpoint = `${grpcHost}:${grpcPort}`;
    const credentialsFile = options.bootstrap === false ? undefined : await bootstrap(service, { dataDir: options.dataDir, iamUrl: http.url, ...(options.services ? { services: options.services } : {}) });
    for (const r of [...(options.register ?? []), { service: "iam", instance: options.instance ?? `${grpcHost.replace(/[^A-Za-z0-9.-]/g, "")}-${http.port}`, endpoints: { http: http.url, grpc: grpcEndpoint } }]) await registerDirect(service, r);
    const r = replica;
    const h = http;
    const g = grpc;
    let stopping: Promise<void> | undefined;
    return {
      http: h,
      grpcEndpoint,
      service,
      replica: r,
      credentialsFile,
      stop: () =>
        (stopping ??= (async () => {
          await Promise.all([h.stop(5_000), g.stop(5_000)]);
          r.close();
          store.close();
        })()),
    };
  } catch (e) {
    await http?.stop(1_000);
    await grpc?.stop(1_000);
    replica?.close();
    store.close();
    throw e;
  }
}
