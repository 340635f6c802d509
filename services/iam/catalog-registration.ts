/**
 * How a PhotonCloud service started after iam puts itself in iam's service catalog (so a client
 * needs only iam's endpoint to find it): with its service secret, under its own name. Discovery
 * is not what the service needs to work, so a failure is logged, never fatal.
 */
import type { Logger } from "../../lib/log.ts";
import { IamClient } from "./client.ts";

/** Registers `instance`'s `endpoints` under the secret's service; resolves whether it worked. */
export async function registerInCatalog(iamUrl: string, secret: string, instance: string, endpoints: Record<string, string>, logger: Logger): Promise<boolean> {
  try {
    await new IamClient(iamUrl, secret).registerOwnEndpoint(instance, endpoints);
    return true;
  } catch (e) {
    logger.warn("could not register in iam's service catalog; clients must be told this endpoint", { error: e });
    return false;
  }
}
