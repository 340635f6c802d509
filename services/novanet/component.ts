/**
 * novanet as a component of `photon up`: reaches chainfire and iam at the endpoints the
 * supervisor started (so it starts after both), and decides in process from iam's policy feed
 * with its service identity when iam's bootstrap wrote one (ADR 0014). The host agent is a separate command
 * (`photon novanet-agent`), one per hypervisor host.
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { listenerTls, type Component } from "../../lib/component.ts";
import type { PhotonConfig } from "../../lib/config.ts";
import { CommonErrors } from "../../lib/errors.ts";
import { registerInCatalog } from "../iam/catalog-registration.ts";
import { nodeServiceIdentityPath, readServiceIdentity } from "../iam/service-identity-file.ts";
import { startNovanet } from "./server.ts";
import type { ExternalNetworkConfig } from "./service.ts";

/** The `[novanet]` external network, or undefined when not configured. */
export function externalNetworkOf(config: PhotonConfig): ExternalNetworkConfig | undefined {
  const n = config.novanet;
  if (!n.external_cidr) return undefined;
  return {
    cidr: n.external_cidr,
    gatewayIp: n.external_gateway,
    ...(n.external_pool_start ? { poolStart: n.external_pool_start } : {}),
    ...(n.external_pool_end ? { poolEnd: n.external_pool_end } : {}),
    ...(n.external_cidr6 ? { cidr6: n.external_cidr6, gatewayIp6: n.external_gateway6 } : {}),
  };
}

/** The novanet component: tenant VPC networking API (REST + gRPC). Starts after iam. */
export const novanetComponent: Component = {
  name: "novanet",
  description: "tenant VPC networking: VPCs, subnets, ports, security groups, routers, floating IPs (REST, gRPC)",
  async start(ctx) {
    const { config } = ctx;
    const etcd = ctx.endpoints.chainfire?.etcd;
    const iam = ctx.endpoints.iam?.http;
    if (!etcd || !iam) throw CommonErrors.Unavailable("novanet needs chainfire and iam, which are not running in this process");
    const n = config.novanet;
    const tls = listenerTls(config);
    const external = externalNetworkOf(config);
    const identityFile = nodeServiceIdentityPath(dirname(ctx.dataDir), "novanet");
    const secret = existsSync(identityFile) ? readServiceIdentity(identityFile).secret : undefined;
    const server = await startNovanet({
      etcdEndpoints: [etcd],
      iamUrl: iam,
      host: config.node.bind_host,
      httpPort: n.http_port,
      grpcPort: n.grpc_port,
      vniMin: n.vni_min,
      vniMax: n.vni_max,
      defaultQuota: { vpcs: n.quota_vpcs, subnets: n.quota_subnets, ports: n.quota_ports, secgroups: n.quota_secgroups, rules: n.quota_rules, routers: n.quota_routers, fips: n.quota_fips },
      ...(external ? { external } : {}),
      ...(secret ? { serviceSecret: secret } : {}),
      ...(tls ? { tls } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    const endpoints = { http: server.http.url, grpc: server.grpcEndpoint };
    if (secret) await registerInCatalog(iam, secret, config.node.name, endpoints, ctx.logger);
    return {
      endpoints,
      healthUrl: `${server.http.url}/healthz`,
      stop: () => server.stop(),
    };
  },
};
