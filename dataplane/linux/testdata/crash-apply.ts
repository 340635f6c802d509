/**
 * Applies a state with the Linux driver and SIGKILLs itself right after the phase named by
 * argv[3] — a crash half-way through an apply, for the convergence tests.
 * Usage: bun crash-apply.ts OPTIONS_JSON STATE_JSON STEP
 */
import { LinuxVpcDataplane } from "../linux-dataplane.ts";

const [optionsJson, stateJson, crashAt] = process.argv.slice(2);
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child() { return quiet; } };
const dp = new LinuxVpcDataplane({
  ...JSON.parse(optionsJson!),
  logger: quiet,
  onStep: (step: string) => {
    if (step === crashAt) process.kill(process.pid, "SIGKILL");
  },
});
await dp.apply(JSON.parse(stateJson!));
process.exit(3); // the crash point was never reached
