/**
 * `photon plasmavmc-metadata-proxy --listen HOST:PORT --network ID --upstream SOCKET`: the
 * metadata proxy plasmavmc's agent starts inside a VPC's router namespace (169.254.169.254:80),
 * forwarding to the agent's metadata server on a unix socket (services/plasmavmc/metadata/).
 * A subcommand, so that the compiled `photon` executable can start it too. Runs until SIGTERM.
 */
import { parseArgs } from "node:util";
import { startMetadataProxy } from "../../services/plasmavmc/metadata/metadata-proxy.ts";

/** Runs the proxy; resolves 0 once it listens (it keeps the process alive), 2 on bad flags. */
export async function run(argv: string[]): Promise<number> {
  let values: { listen?: string; network?: string; upstream?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { listen: { type: "string" }, network: { type: "string" }, upstream: { type: "string" } }, strict: true }));
  } catch (e) {
    console.error(`photon plasmavmc-metadata-proxy: ${(e as Error).message}`);
    return 2;
  }
  const m = /^(.+):(\d{1,5})$/.exec(values.listen ?? "");
  if (!m || !values.network || !values.upstream) {
    console.error("usage: photon plasmavmc-metadata-proxy --listen HOST:PORT --network ID --upstream SOCKET");
    return 2;
  }
  const proxy = startMetadataProxy({ hostname: m[1]!, port: Number(m[2]), network: values.network, upstream: values.upstream });
  console.log(`listening ${m[1]}:${proxy.port}`);
  process.on("SIGTERM", () => {
    proxy.stop();
    process.exit(0);
  });
  return 0;
}
