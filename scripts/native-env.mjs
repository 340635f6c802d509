// The environment every Cargo invocation of this repository uses (build, test, bench).
//
// - Cargo's target directory lives outside the clone (PHOTON_CARGO_TARGET_DIR, default
//   ~/.cache/photoncloud/cargo-target) so every clone on a machine, CI's included, builds
//   incrementally.
// - When Debian's librocksdb-dev is installed, RocksDB is linked from the system instead of being
//   compiled from source (docs/adr/0002-link-system-rocksdb.md); PHOTON_ROCKSDB=bundled forces
//   the bundled build.
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Returns { env, targetDir, rocksdb: "system" | "bundled" } for running cargo. */
export function nativeEnv(base = process.env) {
  const env = { ...base };
  const cacheRoot = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const targetDir = env.PHOTON_CARGO_TARGET_DIR || join(cacheRoot, "photoncloud", "cargo-target");
  mkdirSync(targetDir, { recursive: true });
  env.CARGO_TARGET_DIR = targetDir;
  const libDir = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"].find((d) =>
    existsSync(join(d, "librocksdb.so")),
  );
  let rocksdb = "bundled";
  if (env.PHOTON_ROCKSDB !== "bundled" && libDir && existsSync("/usr/include/rocksdb/c.h")) {
    env.ROCKSDB_LIB_DIR = libDir;
    env.ROCKSDB_INCLUDE_DIR = "/usr/include";
    rocksdb = "system";
  }
  return { env, targetDir, rocksdb };
}
