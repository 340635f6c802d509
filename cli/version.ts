/** The version of PhotonCloud, shared by the CLI, the supervisor and the status API. */
import pkg from "../package.json" with { type: "json" };

/** PhotonCloud's version (package.json). */
export const photonVersion: string = pkg.version;
