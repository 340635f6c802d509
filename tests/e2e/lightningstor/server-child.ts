/**
 * lightningstor alone in a child process (for kill -9 tests):
 * `bun server-child.ts <etcd endpoint> <iam url> <identity file> <data dir> <port>`; prints
 * `READY <url>` once listening.
 */
import { createLogger } from "../../../lib/log.ts";
import { createMetrics } from "../../../lib/metrics.ts";
import { readServiceIdentity } from "../../../services/lightningstor/credentials.ts";
import { startLightningstor } from "../../../services/lightningstor/server.ts";

const [etcd, iamUrl, identity, dataDir, port] = process.argv.slice(2);
const server = await startLightningstor({
  etcdEndpoints: [etcd!],
  iamUrl: iamUrl!,
  identity: readServiceIdentity(identity!),
  dataDir: dataDir!,
  host: "127.0.0.1",
  port: Number(port),
  minPartSize: 64 * 1024,
  logger: createLogger("lightningstor", { level: "error" }),
  metrics: createMetrics("lightningstor"),
});
console.log(`READY ${server.url}`);
