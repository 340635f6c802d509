/**
 * How lightningstor learns who signed a request (ADR 0012): with its service secret it asks
 * iam's S3Credentials for the signing key of
 * (access key, day, region, service), the key's owner and a short-lived token of the owner,
 * which `IamGuard` then uses to authorise. Answers are cached per scope for `cacheMs` (default
 * 10 s): a disabled or deleted access key stops working within that bound (plus IamGuard's 1 s).
 * Failures are not cached.
 */
import { readFileSync } from "node:fs";
import { PhotonError } from "../../lib/errors.ts";
import { IamClient, type S3CredentialsAnswer } from "../iam/client.ts";
import type { GuardCaller } from "../iam/guard.ts";
import { S3Errors } from "./errors.ts";

/** Where lightningstor's service identity comes from. */
export interface ServiceIdentity {
  /** The service secret (`pcs_lightningstor_...`). */
  secret: string;
}

/** Reads lightningstor's identity file (iam's client side). */
export { readServiceIdentity } from "../iam/service-identity-file.ts";

/** What a verified access key gives. */
export interface KeyGrant {
  signingKey: Buffer;
  caller: GuardCaller;
}

/** See the module comment. */
export class S3Credentials {
  private readonly cache = new Map<string, { at: number; value: Promise<KeyGrant> }>();

  constructor(private readonly iam: IamClient, private readonly identity: ServiceIdentity, private readonly cacheMs = 10_000) {}

  /**
   * The signing key and owner of an access key for one credential scope.
   * @throws S3:InvalidAccessKeyId (unknown, disabled, expired key or owner), S3:ServiceUnavailable.
   */
  lookup(accessKeyId: string, date: string, region: string, service: string): Promise<KeyGrant> {
    const key = `${accessKeyId}/${date}/${region}/${service}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.cacheMs) return hit.value;
    const value = this.fetch(accessKeyId, date, region, service);
    if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { at: now, value });
    value.catch(() => {
      if (this.cache.get(key)?.value === value) this.cache.delete(key);
    });
    return value;
  }

  private async fetch(accessKeyId: string, date: string, region: string, service: string): Promise<KeyGrant> {
    let a: S3CredentialsAnswer;
    try {
      a = await this.iam.withToken(this.identity.secret).s3Credentials({ accessKeyId, date, region, service });
    } catch (e) {
      if (e instanceof PhotonError && ["IAM:InvalidCredentials", "IAM:CredentialExpired", "IAM:NotFound", "IAM:InvalidArgument"].includes(e.code)) {
        throw S3Errors.InvalidAccessKeyId("the AWS access key id you provided does not exist in our records", { cause: e });
      }
      throw S3Errors.ServiceUnavailable("cannot verify the access key with iam right now; retry", { cause: e });
    }
    return {
      signingKey: Buffer.from(a.signingKey, "hex"),
      caller: { principal: a.principal, kind: a.kind, ...(a.org ? { org: a.org } : {}), ...(a.project ? { project: a.project } : {}), token: a.accessToken, expiresAt: a.expiresAt },
    };
  }

  /** Forgets cached answers. */
  clear(): void {
    this.cache.clear();
  }
}
