/**
 * Environment that puts every listener of `photon up` on a port the OS picks: one
 * `PHOTON_<SECTION>_<KEY>=0` for each `*_port` key of the configuration schema, so a test that
 * starts the whole cloud never collides with another run or with fixed ports on the machine —
 * and a component added later is covered without touching the tests.
 */
import { configSections } from "../../lib/config-schema.ts";

/** `{ PHOTON_CHAINFIRE_CLIENT_PORT: "0", PHOTON_IAM_HTTP_PORT: "0", ... }` for every port key. */
export function ephemeralPortsEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [section, schema] of Object.entries(configSections)) {
    for (const key of Object.keys(schema.shape)) {
      if (key.endsWith("_port")) env[`PHOTON_${section.toUpperCase()}_${key.toUpperCase()}`] = "0";
    }
  }
  return env;
}
