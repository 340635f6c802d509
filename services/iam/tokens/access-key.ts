/**
 * S3-style access keys for lightningstor's SigV4: an id (`PK` + 18 base32 characters, 20 in all,
 * like AWS's `AKIA...`) and a 40-character secret shown once. SigV4 needs the secret itself on the
 * server (it recomputes an HMAC chain keyed by it), so it cannot be stored as a one-way hash: it is
 * sealed with AES-256-GCM under a key-encryption key (KEK) kept outside chainfire, with the access
 * key id as associated data (a sealed secret cannot be moved to another key). See
 * docs/adr/0005-iam-secrets.md.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { IamErrors } from "../errors.ts";
import { randomBase32 } from "../model/ids.ts";
import { constantTimeEqual } from "./secret.ts";

/** What the store keeps of an access key (the secret only sealed). */
export interface AccessKeyRecord {
  accessKeyId: string;
  principal: string;
  org?: string;
  /** The project requests signed with this key act in (S3: where buckets are created). */
  project?: string;
  /** `v1.<kekId>.<base64url(iv | ciphertext | tag)>` */
  sealedSecret: string;
  createdAt: number;
  expiresAt?: number;
  disabled?: boolean;
}

/** Input of createAccessKey. */
export interface CreateAccessKeyInput {
  principal: string;
  org?: string;
  project?: string;
  expiresAt?: number;
  now?: number;
}

/** A key-encryption key. */
export interface Kek {
  /** Short id recorded in sealed values (`k1`), so KEKs can rotate. */
  id: string;
  /** 32 bytes. */
  key: Uint8Array;
}

/** Seals and opens access-key secrets with AES-256-GCM. */
export class SecretCipher {
  private readonly keys = new Map<string, Uint8Array>();
  private readonly current: string;

  /**
   * @param current the KEK new secrets are sealed with.
   * @param previous older KEKs still able to open what they sealed.
   * @throws IAM:InvalidArgument when a key is not 32 bytes or an id is malformed.
   */
  constructor(current: Kek, previous: readonly Kek[] = []) {
    for (const k of [current, ...previous]) {
      if (!/^[a-z0-9]{1,16}$/.test(k.id)) throw IamErrors.InvalidArgument(`KEK id ${JSON.stringify(k.id)} must be 1-16 lowercase letters or digits`);
      if (!(k.key instanceof Uint8Array) || k.key.length !== 32) throw IamErrors.InvalidArgument(`KEK ${k.id} must be 32 bytes`);
      this.keys.set(k.id, k.key);
    }
    this.current = current.id;
  }

  /** Seals `plaintext`, bound to `context` (associated data: the access key id). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.keys.get(this.current)!, iv);
    c.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
    return `v1.${this.current}.${Buffer.concat([iv, body, c.getAuthTag()]).toString("base64url")}`;
  }

  /**
   * Opens a sealed value.
   * @throws IAM:InvalidArgument when it is malformed, sealed under an unknown KEK, or fails
   *   authentication (tampered, or sealed for another context).
   */
  open(sealed: string, context: string): string {
    const m = /^v1\.([a-z0-9]{1,16})\.([A-Za-z0-9_-]+)$/.exec(sealed);
    const key = m ? this.keys.get(m[1]!) : undefined;
    if (!m || !key) throw IamErrors.InvalidArgument("sealed secret is malformed or its key-encryption key is unknown");
    const raw = Buffer.from(m[2]!, "base64url");
    if (raw.length < 12 + 16) throw IamErrors.InvalidArgument("sealed secret is truncated");
    try {
      const d = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      d.setAAD(Buffer.from(context, "utf8"));
      d.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString("utf8");
    } catch (e) {
      throw IamErrors.InvalidArgument("sealed secret does not authenticate (tampered or sealed for another key)", { cause: e });
    }
  }
}

/**
 * Creates an access key: `secretAccessKey` is returned this once; `record` goes to the store.
 * @throws IAM:InvalidArgument for a missing principal or an expiry in the past.
 */
export function createAccessKey(
  input: CreateAccessKeyInput,
  cipher: SecretCipher,
): { accessKeyId: string; secretAccessKey: string; record: AccessKeyRecord } {
  const now = input.now ?? Date.now();
  if (typeof input.principal !== "string" || input.principal.length === 0) throw IamErrors.InvalidArgument("principal is required", { details: { field: "principal" } });
  if (input.expiresAt !== undefined && !(input.expiresAt > now)) throw IamErrors.InvalidArgument("expiresAt must be in the future", { details: { field: "expiresAt" } });
  const accessKeyId = `PK${randomBase32(15).slice(0, 18).toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString("base64url");
  const record: AccessKeyRecord = { accessKeyId, principal: input.principal, sealedSecret: cipher.seal(secretAccessKey, accessKeyId), createdAt: now };
  if (input.org !== undefined) record.org = input.org;
  if (input.project !== undefined) record.project = input.project;
  if (input.expiresAt !== undefined) record.expiresAt = input.expiresAt;
  return { accessKeyId, secretAccessKey, record };
}

/**
 * The secret of an access key, for SigV4 verification, after checking it is usable.
 * @throws IAM:InvalidCredentials (disabled), IAM:CredentialExpired, IAM:InvalidArgument (corrupt).
 */
export function openAccessKey(record: AccessKeyRecord, cipher: SecretCipher, now = Date.now()): string {
  if (record.disabled) throw IamErrors.InvalidCredentials(`access key ${record.accessKeyId} is disabled`);
  if (record.expiresAt !== undefined && now >= record.expiresAt) throw IamErrors.CredentialExpired(`access key ${record.accessKeyId} has expired`);
  return cipher.open(record.sealedSecret, record.accessKeyId);
}

/** Compares a client's SigV4 signature with the expected one in constant time. */
export function signaturesMatch(expected: string, presented: string): boolean {
  return constantTimeEqual(expected, presented);
}
