/** chainfire as a component of `photon up`. */
import type { Component } from "../../lib/component.ts";
import { advertisedHost, startChainfire } from "./server.ts";

/** The chainfire component: the control-plane store every other service keeps its state in. */
export const chainfireComponent: Component = {
  name: "chainfire",
  description: "replicated control-plane store (etcd v3 API)",
  async start(ctx) {
    const { config } = ctx;
    const tls = config.tls.enabled && config.tls.cert_file && config.tls.key_file
      ? {
          certFile: config.tls.cert_file,
          keyFile: config.tls.key_file,
          ...(config.tls.ca_file ? { caFile: config.tls.ca_file } : {}),
          requireClientCert: config.tls.require_client_cert,
        }
      : undefined;
    const server = await startChainfire({
      dataDir: ctx.dataDir,
      name: config.node.name,
      host: config.node.bind_host,
      advertiseHost: advertisedHost(config.node.bind_host, config.node.advertise_host),
      port: config.chainfire.client_port,
      httpPort: config.chainfire.http_port,
      quotaBytes: config.chainfire.quota_bytes,
      peerPort: config.chainfire.peer_port,
      ...(config.chainfire.join ? { join: config.chainfire.join } : {}),
      ...(tls ? { tls } : {}),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    return {
      endpoints: { etcd: server.endpoint, http: server.http.url },
      healthUrl: `${server.http.url}/healthz`,
      stop: () => server.stop(),
    };
  },
};
