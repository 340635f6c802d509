/**
 * Reading back what `lib/certs.ts` wrote: the SANs of a certificate and whether a private key
 * belongs to it. Used to decide whether an existing certificate can be kept.
 */

import "reflect-metadata"; // needed by @peculiar/x509; must precede it
import * as x509 from "@peculiar/x509";
import { canonicalIp } from "./certs-names.ts";

/** The DNS subject alternative names of `cert`, lowercased, in certificate order. */
export function dnsNamesOf(cert: x509.X509Certificate): string[] {
  return sanOf(cert)
    .filter((n) => n.type === "dns")
    .map((n) => n.value.toLowerCase());
}

/** The IP subject alternative names of `cert`, in canonical text form (see `canonicalIp`). */
export function ipsOf(cert: x509.X509Certificate): string[] {
  return sanOf(cert)
    .filter((n) => n.type === "ip")
    .map((n) => canonicalIp(n.value) ?? n.value);
}

function sanOf(cert: x509.X509Certificate): readonly x509.GeneralName[] {
  return cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
}

/**
 * True if `privateKey` (an extractable EC key) is the private half of `cert`'s public key.
 * Compares the public point (x, y) of both as JWK; false for anything that is not EC.
 */
export async function keyMatchesCert(privateKey: CryptoKey, cert: x509.X509Certificate): Promise<boolean> {
  try {
    const priv = await crypto.subtle.exportKey("jwk", privateKey);
    const pub = await crypto.subtle.exportKey("jwk", await cert.publicKey.export());
    return priv.kty === "EC" && pub.kty === "EC" && priv.crv === pub.crv && priv.x === pub.x && priv.y === pub.y;
  } catch {
    return false;
  }
}
