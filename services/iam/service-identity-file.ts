/**
 * A PhotonCloud service's identity file (`<iam data dir>/services/<service>.json`, mode 0600),
 * written by iam's bootstrap (service-identity.ts) and read by the service, which presents its
 * secret to the calls iam reserves to services. Part of iam's client side: no server code here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PhotonError } from "../../lib/errors.ts";

/** What a service's identity file (`<iam data dir>/services/<service>.json`, mode 0600) holds. */
export interface ServiceIdentityFile {
  service: string;
  /** `pcs_<service>_<secret>`, presented as `Authorization: Bearer` to the calls reserved to services. */
  secret: string;
  iamUrl: string;
  createdAt: string;
}

/** The path of a service's identity file under iam's data directory. */
export function serviceIdentityPath(iamDataDir: string, service: string): string {
  return join(iamDataDir, "services", `${service}.json`);
}

/**
 * Reads a service's identity file.
 * @throws PHOTON:Unavailable naming the file when it is missing or unreadable.
 */
export function readServiceIdentity(file: string): ServiceIdentityFile {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ServiceIdentityFile;
  } catch (e) {
    throw new PhotonError("PHOTON:Unavailable", `cannot read the service identity file ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** Where `photon up` keeps `service`'s identity file, under the node's data directory. */
export function nodeServiceIdentityPath(nodeDataDir: string, service: string): string {
  return serviceIdentityPath(join(nodeDataDir, "iam"), service);
}
