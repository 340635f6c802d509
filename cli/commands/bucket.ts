/**
 * `photon bucket create|list|delete`: lightningstor's buckets with the saved login (an iam
 * token). The S3 endpoint is `--s3-url`, else the running node's lightningstor component, else
 * the configured port on loopback. Objects go through any S3 client with an access key
 * (`photon accesskey create --project P`).
 */
import { parseArgs } from "node:util";
import { LightningstorClient } from "../../services/lightningstor/client.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";
import { sessionClient } from "./iam-session.ts";
import { findComponentUrl } from "../component-url.ts";

const HELP = `usage: photon bucket <verb> [args] [--flags]

verbs:
  create NAME [--project P]   create a bucket (default project: your login's)
  list                        the buckets you may list
  delete NAME                 delete an empty bucket

flags: --s3-url URL, --iam-url URL, -o json
`;

/** lightningstor's S3 URL (see the module comment). */
function findS3Url(flag: string | undefined): Promise<string> {
  return findComponentUrl({ component: "lightningstor", endpoint: "s3", flag, configuredPort: (c) => c.lightningstor.s3_port });
}

/** Runs `photon bucket ...`; resolves to the exit code. */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { output: { type: "string", short: "o" }, project: { type: "string" }, "s3-url": { type: "string" }, "iam-url": { type: "string" }, help: { type: "boolean", short: "h" } } });
  } catch (e) {
    return reportError(io, usageError((e as Error).message));
  }
  const [verb, name] = parsed.positionals;
  if (parsed.values.help || verb === undefined || verb === "help") {
    io.stdout(HELP);
    return verb === undefined && !parsed.values.help ? 2 : 0;
  }
  const json = parsed.values.output === "json";
  try {
    if (!["create", "list", "delete"].includes(verb)) throw usageError(`unknown verb "${verb}" for bucket; verbs: create, list, delete`);
    if (verb !== "list" && !name) throw usageError(`photon bucket ${verb} needs a bucket NAME`);
    const { login } = await sessionClient(parsed.values);
    const s3 = new LightningstorClient(await findS3Url(parsed.values["s3-url"]), login.accessToken);
    if (verb === "create") {
      const project = parsed.values.project ?? login.project;
      await s3.createBucket(name!, project ? { project } : {});
      io.stdout(json ? JSON.stringify({ name, ...(project ? { project } : {}) }) + "\n" : `created bucket ${name}\n`);
    } else if (verb === "delete") {
      await s3.deleteBucket(name!);
      io.stdout(json ? JSON.stringify({ deleted: name }) + "\n" : `deleted bucket ${name}\n`);
    } else {
      const items = await s3.listBuckets();
      io.stdout(json ? JSON.stringify({ items }) + "\n" : items.map((b) => `${b.createdAt}  ${b.name}\n`).join(""));
    }
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
