/**
 * The signing keys of access tokens: Ed25519 (JWS `EdDSA`) key pairs identified by their RFC 7638
 * JWK thumbprint (`kid`). One key is current and signs; after a rotation the previous ones stay
 * in the JWKS, so tokens they signed still verify, until they are retired (no sooner than the
 * longest token lifetime after the rotation: `retireExpired` does that). Private keys leave the
 * ring only through `exportPrivate` (for the store, which must keep them encrypted).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { IamErrors } from "../errors.ts";

/** The JWS algorithm of every iam key. */
export const TOKEN_ALG = "EdDSA";

/** A key of the ring. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public JWK as published (`kid`, `alg`, `use` set). */
  readonly publicJwk: JWK;
  readonly createdAt: number;
  /** When it stopped being current; undefined for the current key. */
  readonly demotedAt?: number;
}

/** A JWKS document (RFC 7517): public keys only. */
export interface Jwks {
  keys: JWK[];
}

/** A ring's private material, for the store (encrypt it at rest). */
export interface ExportedKeyRing {
  keys: { privateJwk: JWK; createdAt: number; demotedAt?: number }[];
}

async function makeKey(now: number): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(TOKEN_ALG, { crv: "Ed25519", extractable: true });
  return fromPrivate(await exportJWK(privateKey), now, undefined);
}

async function fromPrivate(privateJwk: JWK, createdAt: number, demotedAt: number | undefined): Promise<SigningKey> {
  if (privateJwk.kty !== "OKP" || privateJwk.crv !== "Ed25519" || typeof privateJwk.d !== "string") {
    throw IamErrors.InvalidArgument("signing keys must be Ed25519 private JWKs", { details: { field: "keys" } });
  }
  const { d: _d, kid: _kid, ...pub } = privateJwk;
  const kid = await calculateJwkThumbprint(pub);
  const privateKey = (await importJWK({ ...privateJwk, alg: TOKEN_ALG }, TOKEN_ALG, { extractable: true })) as CryptoKey;
  const publicJwk: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x, kid, alg: TOKEN_ALG, use: "sig" };
  return demotedAt === undefined ? { kid, privateKey, publicJwk, createdAt } : { kid, privateKey, publicJwk, createdAt, demotedAt };
}

/** The current signing key and the previous ones still published. */
export class SigningKeyRing {
  private keys: SigningKey[];

  private constructor(keys: SigningKey[]) {
    this.keys = keys;
  }

  /** A ring with one new current key. */
  static async generate(now = Date.now()): Promise<SigningKeyRing> {
    return new SigningKeyRing([await makeKey(now)]);
  }

  /**
   * Rebuilds a ring from `exportPrivate` output; the first key without `demotedAt` is current.
   * @throws IAM:InvalidArgument for keys that are not Ed25519 private JWKs; IAM:NoSigningKey when
   *   none is current.
   */
  static async import(data: ExportedKeyRing): Promise<SigningKeyRing> {
    const keys = await Promise.all(data.keys.map((k) => fromPrivate(k.privateJwk, k.createdAt, k.demotedAt)));
    const rank = (k: SigningKey) => k.demotedAt ?? Number.MAX_SAFE_INTEGER;
    const ring = new SigningKeyRing(keys.toSorted((a, b) => rank(b) - rank(a)));
    ring.current();
    return ring;
  }

  /**
   * The key that signs.
   * @throws IAM:NoSigningKey when the ring has no current key.
   */
  current(): SigningKey {
    const k = this.keys[0];
    if (!k || k.demotedAt !== undefined) throw IamErrors.NoSigningKey("the token signing key ring has no current key");
    return k;
  }

  /** Makes a new current key; the old one stays published as previous. Returns the new kid. */
  async rotate(now = Date.now()): Promise<string> {
    const fresh = await makeKey(now);
    this.keys = [fresh, ...this.keys.map((k) => (k.demotedAt === undefined ? { ...k, demotedAt: now } : k))];
    return fresh.kid;
  }

  /**
   * Stops publishing a previous key: tokens it signed no longer verify.
   * @throws IAM:NotFound for an unknown kid; IAM:InvalidArgument for the current key.
   */
  retire(kid: string): void {
    const k = this.keys.find((x) => x.kid === kid);
    if (!k) throw IamErrors.NotFound(`signing key ${kid} not found`, { details: { kid } });
    if (k.demotedAt === undefined) throw IamErrors.InvalidArgument("cannot retire the current signing key; rotate first", { details: { kid } });
    this.keys = this.keys.filter((x) => x !== k);
  }

  /** Retires previous keys demoted more than `maxTokenTtlMs` ago (no token of theirs is still valid). */
  retireExpired(maxTokenTtlMs: number, now = Date.now()): string[] {
    const gone = this.keys.filter((k) => k.demotedAt !== undefined && now - k.demotedAt > maxTokenTtlMs).map((k) => k.kid);
    this.keys = this.keys.filter((k) => !gone.includes(k.kid));
    return gone;
  }

  /** The public JWKS to serve at the JWKS endpoint: current key first. */
  jwks(): Jwks {
    return { keys: this.keys.map((k) => ({ ...k.publicJwk })) };
  }

  /** Private material for the store (which must encrypt it at rest). */
  async exportPrivate(): Promise<ExportedKeyRing> {
    return {
      keys: await Promise.all(
        this.keys.map(async (k) => ({
          privateJwk: { ...(await exportJWK(k.privateKey)), kid: k.kid },
          createdAt: k.createdAt,
          ...(k.demotedAt === undefined ? {} : { demotedAt: k.demotedAt }),
        })),
      ),
    };
  }
}
