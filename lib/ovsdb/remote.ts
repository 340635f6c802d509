/** Parses OVSDB remote strings as OVS tools spell them: `unix:/path` and `tcp:host:port`. */
import { CommonErrors } from "../errors.ts";

/** Where to connect. */
export type OvsdbRemote = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

/**
 * Parses `unix:/abs/path`, `tcp:127.0.0.1:6641` or `tcp:[::1]:6641`.
 * @throws PhotonError `PHOTON:InvalidArgument` on anything else (ssl: is not supported yet).
 */
export function parseRemote(remote: string): OvsdbRemote {
  if (remote.startsWith("unix:") && remote.length > 5) return { kind: "unix", path: remote.slice(5) };
  const m = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(remote);
  if (m) {
    const port = Number(m[3]);
    if (port > 0 && port < 65536) return { kind: "tcp", host: (m[1] ?? m[2])!, port };
  }
  throw CommonErrors.InvalidArgument(`OVSDB remote ${JSON.stringify(remote)}: expected unix:/path or tcp:host:port`);
}
