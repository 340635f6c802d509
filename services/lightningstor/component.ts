/**
 * lightningstor as a component of `photon up`: starts after iam, reads its service identity
 * from `<data_dir>/iam/services/lightningstor.json` (written 0600 by iam's bootstrap) and
 * registers its S3 endpoint in iam's service catalog with it.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { listenerTls, type Component } from "../../lib/component.ts";
import { CommonErrors } from "../../lib/errors.ts";
import { registerInCatalog } from "../iam/catalog-registration.ts";
import { readServiceIdentity } from "./credentials.ts";
import { startLightningstor } from "./server.ts";

/** The lightningstor component: the S3 API. */
export const lightningstorComponent: Component = {
  name: "lightningstor",
  description: "S3-compatible object storage (SigV4, multipart; aws cli, rclone, s3cmd, boto3)",
  async start(ctx) {
    const { config } = ctx;
    const etcd = ctx.endpoints.chainfire?.etcd;
    const iamUrl = ctx.endpoints.iam?.http;
    if (!etcd || !iamUrl) throw CommonErrors.Unavailable("lightningstor needs chainfire and iam, which are not running in this process");
    const c = config.lightningstor;
    const tls = listenerTls(config);
    const identity = readServiceIdentity(join(dirname(ctx.dataDir), "iam", "services", "lightningstor.json"));
    const server = await startLightningstor({
      etcdEndpoints: [etcd],
      iamUrl,
      identity,
      dataDir: ctx.dataDir,
      host: config.node.bind_host,
      port: c.s3_port,
      region: c.region,
      ...(c.domain ? { domain: c.domain } : {}),
      maxObjectSize: c.max_object_mb * 1024 * 1024,
      keyCacheMs: c.key_cache_seconds * 1000,
      ...(tls ? { tls: { cert: readFileSync(tls.certFile, "utf8"), key: readFileSync(tls.keyFile, "utf8") } } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    await registerInCatalog(iamUrl, identity.secret, config.node.name, { s3: server.url }, ctx.logger);
    return { endpoints: { s3: server.url }, healthUrl: `${server.url}/healthz`, stop: () => server.stop() };
  },
};
