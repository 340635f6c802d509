#!/usr/bin/env node
// Runs cargo on native/ with the repository's environment: `node scripts/cargo.mjs test`.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nativeEnv } from "./native-env.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { env } = nativeEnv();
const res = spawnSync("cargo", process.argv.slice(2), { cwd: join(root, "native"), env, stdio: "inherit" });
process.exit(res.status ?? 1);
