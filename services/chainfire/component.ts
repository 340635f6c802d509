/** chainfire as a component of `photon up`. */
import { listenerTls, type Component } from "../../lib/component.ts";
import { advertisedHost, startChainfire } from "./server.ts";

/** The chainfire component: the control-plane store every other service keeps its state in. */
export const chainfireComponent: Component = {
  name: "chainfire",
  description: "replicated control-plane store (etcd v3 API)",
  async start(ctx) {
    const { config } = ctx;
    const tls = listenerTls(config);
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
