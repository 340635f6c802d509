/**
 * plasmavmc as a component of `photon up`: reaches chainfire, iam and novanet at the endpoints the
 * supervisor started (so it starts after novanet), decides in process from iam's policy feed
 * with its service identity and registers in iam's catalog; images live under its data directory. The host
 * agent is a separate command (`photon plasmavmc-agent`), one per hypervisor host; `photon up` also
 * runs this host's agents right after this component (cli/up/local-agents.ts). Each server sweeps
 * creates interrupted by a crash (sweeper.ts).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { listenerTls, type Component } from "../../lib/component.ts";
import { CommonErrors } from "../../lib/errors.ts";
import { registerInCatalog } from "../iam/catalog-registration.ts";
import { nodeServiceIdentityPath, readServiceIdentity } from "../iam/service-identity-file.ts";
import { startPlasmavmc } from "./server.ts";

/** The plasmavmc component: the VM API (REST + gRPC). Starts after novanet. */
export const plasmavmcComponent: Component = {
  name: "plasmavmc",
  description: "virtual machines: flavors, images, VMs, hosts, quotas (REST, gRPC)",
  async start(ctx) {
    const { config } = ctx;
    const etcd = ctx.endpoints.chainfire?.etcd;
    const iam = ctx.endpoints.iam?.http;
    const novanet = ctx.endpoints.novanet?.http;
    if (!etcd || !iam || !novanet) throw CommonErrors.Unavailable("plasmavmc needs chainfire, iam and novanet, which are not running in this process");
    const p = config.plasmavmc;
    const tls = listenerTls(config);
    const identityFile = nodeServiceIdentityPath(dirname(ctx.dataDir), "plasmavmc");
    const secret = existsSync(identityFile) ? readServiceIdentity(identityFile).secret : undefined;
    const server = await startPlasmavmc({
      etcdEndpoints: [etcd],
      iamUrl: iam,
      novanetUrl: novanet,
      imageDir: join(ctx.dataDir, "images"),
      imageMaxBytes: p.image_max_bytes,
      imageImportAllow: p.image_import_allow,
      host: config.node.bind_host,
      httpPort: p.http_port,
      grpcPort: p.grpc_port,
      defaultQuota: { vms: p.quota_vms, vcpus: p.quota_vcpus, memoryMiB: p.quota_memory_mib, volumes: p.quota_volumes, gigabytes: p.quota_gigabytes },
      deleteWaitMs: p.delete_wait_seconds * 1000,
      createSweepGraceMs: p.create_sweep_grace_seconds * 1000,
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
