/**
 * `import path from "./x.proto" with { type: "file" }`: Bun gives the file's path, which
 * `bun build --compile` embeds in the executable (a `/$bunfs/...` path there, readable with
 * node:fs or Bun.file).
 */
declare module "*.proto" {
  const path: string;
  export default path;
}
