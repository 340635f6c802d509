/**
 * The repository's `.proto` files (proto/), embedded with Bun's file imports so they travel
 * inside a `bun build --compile` executable; from source the imports are the files' own paths.
 * Keys are the paths under proto/, which is also how the files `import` each other.
 */
import { readFileSync } from "node:fs";
import type protobuf from "protobufjs";
import chainfireInternal from "../../proto/chainfire/internal.proto" with { type: "file" };
import etcdAuth from "../../proto/etcd/auth.proto" with { type: "file" };
import etcdKv from "../../proto/etcd/kv.proto" with { type: "file" };
import etcdRpc from "../../proto/etcd/rpc.proto" with { type: "file" };
import iamV1 from "../../proto/iam/v1/iam.proto" with { type: "file" };
import novanetV1 from "../../proto/novanet/v1/novanet.proto" with { type: "file" };
import plasmavmcV1 from "../../proto/plasmavmc/v1/plasmavmc.proto" with { type: "file" };
import { loadRootFromSources } from "./service.ts";

/** Embedded path of each proto file, keyed by its path under proto/. */
export const PROTO_FILES: Readonly<Record<string, string>> = {
  "chainfire/internal.proto": chainfireInternal,
  "etcd/auth.proto": etcdAuth,
  "etcd/kv.proto": etcdKv,
  "etcd/rpc.proto": etcdRpc,
  "iam/v1/iam.proto": iamV1,
  "novanet/v1/novanet.proto": novanetV1,
  "plasmavmc/v1/plasmavmc.proto": plasmavmcV1,
};

let sources: Record<string, string> | undefined;

/** The text of every embedded proto file, keyed like PROTO_FILES (read once). */
export function protoSources(): Readonly<Record<string, string>> {
  if (!sources) {
    const read: Record<string, string> = {};
    for (const [name, path] of Object.entries(PROTO_FILES)) read[name] = readFileSync(path, "utf8");
    sources = read;
  }
  return sources;
}

/**
 * Loads one of the repository's proto files (a key of PROTO_FILES, e.g. `etcd/rpc.proto`) and its
 * imports from the embedded copies into a resolved Root. Throws if it is not one of them.
 */
export function loadProtoRoot(name: string, options: { keepCase?: boolean } = {}): protobuf.Root {
  return loadRootFromSources(protoSources(), name, options);
}
