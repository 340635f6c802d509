#!/usr/bin/env node
// Builds native/ (the napi-rs addon) into native/photon-native.node. Run by `npm ci` (postinstall)
// and `npm run build:native`. See scripts/native-env.mjs for where Cargo builds and how RocksDB
// is linked.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nativeEnv } from "./native-env.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { env, targetDir, rocksdb } = nativeEnv();
console.error(
  rocksdb === "system"
    ? `build-native: linking the system RocksDB from ${env.ROCKSDB_LIB_DIR}`
    : "build-native: compiling the bundled RocksDB (install librocksdb-dev to skip this)",
);

if (spawnSync("cargo", ["--version"], { stdio: "ignore" }).status !== 0) {
  console.error("build-native: cargo not found; install a Rust toolchain (https://rustup.rs) and rerun `npm ci`");
  process.exit(1);
}

const napi = join(root, "node_modules", ".bin", "napi");
const args = [
  "build", "--release",
  "--manifest-path", join(root, "native", "Cargo.toml"),
  "--package", "photon-native",
  "--package-json-path", join(root, "package.json"),
  "--output-dir", join(root, "native"),
  "--target-dir", targetDir,
  "--dts", "photon-native.d.ts",
];
const started = Date.now();
const res = spawnSync(napi, args, { cwd: root, env, stdio: "inherit" });
if (res.status !== 0) {
  console.error(`build-native: napi build failed (exit ${res.status ?? res.signal})`);
  process.exit(res.status || 1);
}
console.error(`build-native: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
