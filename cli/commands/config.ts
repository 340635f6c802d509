/** `photon config check FILE`: validates a configuration file; exit 0 when valid, 2 otherwise. */
import { checkConfigFile } from "../../lib/config.ts";
import { processIo, reportError, usageError, type CommandIo } from "../io.ts";

const usage = "usage: photon config check FILE [-o json]\n";

/** Runs `photon config ...`; resolves to the exit code. */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  const json = argv.includes("-o") && argv[argv.indexOf("-o") + 1] === "json";
  const args = argv.filter((a, i) => a !== "-o" && argv[i - 1] !== "-o");
  if (args[0] !== "check" || args.length !== 2) return reportError(io, usageError(usage.trim()));
  const file = args[1]!;
  try {
    const config = checkConfigFile(file);
    io.stdout(json ? JSON.stringify({ ok: true, file, config }, null, 2) + "\n" : `ok: ${file} is valid\n`);
    return 0;
  } catch (e) {
    if (json) io.stdout(JSON.stringify({ ok: false, file, error: (e as Error).message }) + "\n");
    return reportError(io, e);
  }
}
