/** iam as a component of `photon up`: reaches chainfire at the endpoint the supervisor started. */
import { listenerTls, type Component } from "../../lib/component.ts";
import { CommonErrors } from "../../lib/errors.ts";
import { startIam } from "./server.ts";
import { PHOTON_SERVICES } from "./service-identity.ts";

/** The iam component: identity, tenancy, authorisation, service catalog. Starts after chainfire. */
export const iamComponent: Component = {
  name: "iam",
  description: "identity, tenancy and authorisation (REST, gRPC, JWKS, service catalog)",
  async start(ctx) {
    const { config } = ctx;
    const etcd = ctx.endpoints.chainfire?.etcd;
    if (!etcd) throw CommonErrors.Unavailable("iam needs chainfire, which is not running in this process");
    const tls = listenerTls(config);
    const server = await startIam({
      etcdEndpoints: [etcd],
      dataDir: ctx.dataDir,
      host: config.node.bind_host,
      httpPort: config.iam.http_port,
      grpcPort: config.iam.grpc_port,
      ...(config.iam.issuer ? { issuer: config.iam.issuer } : {}),
      ...(config.iam.kek_file ? { kekFile: config.iam.kek_file } : {}),
      instance: config.node.name,
      keyRotationMs: config.iam.key_rotation_seconds * 1000,
      services: PHOTON_SERVICES,
      register: Object.entries(ctx.endpoints).map(([service, endpoints]) => ({ service, instance: config.node.name, endpoints: { ...endpoints } })),
      ...(tls ? { tls } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    return {
      endpoints: { http: server.http.url, grpc: server.grpcEndpoint },
      healthUrl: `${server.http.url}/healthz`,
      stop: () => server.stop(),
    };
  },
};
