#!/usr/bin/env node
// `npm test`: the Rust unit tests of native/ (cargo test), the TypeScript typecheck, then every
// bun test of the repository.
// Ends with one summary line, `N passed, N failed, N skipped`, and exits non-zero on any failure.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nativeEnv } from "./native-env.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Runs a command, echoing its output, and returns { code, output }. */
function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], ...options });
    let output = "";
    child.stdout.on("data", (d) => { output += d; process.stdout.write(d); });
    child.stderr.on("data", (d) => { output += d; process.stderr.write(d); });
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

const sum = (output, re) => [...output.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
let passed = 0, failed = 0, skipped = 0, exit = 0;

const { env } = nativeEnv();
const cargo = await run("cargo", ["test", "--release", "--manifest-path", join(root, "native", "Cargo.toml")], { env });
passed += sum(cargo.output, /test result: \w+\. (\d+) passed/g);
failed += sum(cargo.output, /test result: \w+\. \d+ passed; (\d+) failed/g);
skipped += sum(cargo.output, /(\d+) ignored/g);
if (cargo.code !== 0) { exit = 1; if (failed === 0) failed = 1; }

// The TypeScript typecheck counts as one test: a type error fails the run.
const tsc = await run(join(root, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", root]);
if (tsc.code === 0) passed += 1;
else { failed += 1; exit = 1; }

// bunfig's [test] timeout is not applied by Bun 1.4.4: pass the per-test timeout here.
const bunArgs = ["test", "--timeout", "60000", ...process.argv.slice(2)];
const bun = await run(join(root, "node_modules", ".bin", "bun"), bunArgs);
passed += sum(bun.output, /^\s*(\d+) pass$/gm);
const bunFailed = sum(bun.output, /^\s*(\d+) fail$/gm);
failed += bunFailed;
skipped += sum(bun.output, /^\s*(\d+) skip$/gm);
if (bun.code !== 0) { exit = 1; if (bunFailed === 0) failed += 1; }

console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(exit);
