/** `photon version [-o json]`: PhotonCloud's, the native addon's and Bun's versions. */
import { native } from "../../lib/native.ts";
import { photonVersion } from "../version.ts";
import { processIo, reportError, type CommandIo } from "../io.ts";

/** Runs `photon version`; resolves to the exit code. */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  const json = argv[0] === "-o" && argv[1] === "json";
  try {
    const info = { photon: photonVersion, native: native().nativeVersion(), bun: Bun.version, platform: `${process.platform}-${process.arch}` };
    io.stdout(json ? JSON.stringify(info) + "\n" : `photon ${info.photon} (native ${info.native}, bun ${info.bun}, ${info.platform})\n`);
    return 0;
  } catch (e) {
    return reportError(io, e);
  }
}
