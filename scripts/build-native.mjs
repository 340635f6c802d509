#!/usr/bin/env node
// Builds native/ (the napi-rs addon) into native/photon-native.node. Run by `npm ci` (postinstall).
//
// - Cargo's target directory lives outside the clone (PHOTON_CARGO_TARGET_DIR, default
//   ~/.cache/photoncloud/cargo-target) so every clone on a machine, CI's included, builds
//   incrementally.
// - When Debian's librocksdb-dev is installed, RocksDB is linked from the system instead of being
//   compiled from source (docs/adr/0002-link-system-rocksdb.md); PHOTON_ROCKSDB=bundled forces the
//   bundled build.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env };
const cacheRoot = env.XDG_CACHE_HOME || join(homedir(), ".cache");
const targetDir = env.PHOTON_CARGO_TARGET_DIR || join(cacheRoot, "photoncloud", "cargo-target");
mkdirSync(targetDir, { recursive: true });
env.CARGO_TARGET_DIR = targetDir;

const systemLib = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"].find(
  (d) => existsSync(join(d, "librocksdb.so")),
);
const systemHeaders = existsSync("/usr/include/rocksdb/c.h");
if (env.PHOTON_ROCKSDB !== "bundled" && systemLib && systemHeaders) {
  env.ROCKSDB_LIB_DIR = systemLib;
  env.ROCKSDB_INCLUDE_DIR = "/usr/include";
  console.error(`build-native: linking system RocksDB from ${systemLib}`);
} else {
  console.error("build-native: compiling bundled RocksDB (install librocksdb-dev to skip this)");
}

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
