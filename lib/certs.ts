/**
 * The development certificate authority behind `photon certs`.
 *
 * It makes a self-signed CA and, per service, a certificate signed by it that works as both a TLS
 * server and a TLS client certificate, so the same files serve HTTPS/gRPC listeners and mTLS
 * between services. It is for development and small private clusters, not a public PKI.
 *
 * Design constraints:
 * - Keys are ECDSA P-256 (small, fast, supported by every TLS stack we talk to) generated with
 *   WebCrypto; X.509 encoding is done by `@peculiar/x509`, never by hand-written ASN.1.
 * - Files are PEM: `ca.crt`, `ca.key`, `<service>.crt`, `<service>.key`; keys are PKCS#8, mode
 *   0600, written atomically (see `lib/certs-files.ts`).
 * - An existing CA is never replaced unless `force` is set: replacing it invalidates every
 *   certificate already handed out. Re-running issues what is missing with the CA on disk.
 * - The CA has pathLength 0: it can sign leaves but not intermediate CAs.
 */

// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
// This import must stay before the x509 one.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { join } from "node:path";
import { PhotonError } from "./errors.ts";
import { CertsErrors } from "./certs-errors.ts";
import { canonicalIp, checkDays, checkServiceName, subjectAltNames } from "./certs-names.ts";
import { ensureDir, isUnusablePathError, readIfExists, writeFileAtomic } from "./certs-files.ts";
import { dnsNamesOf, ipsOf, keyMatchesCert } from "./certs-inspect.ts";

export { canonicalIp, CertsErrors };

/** The eleven PhotonCloud components, each of which gets a certificate by default. */
export const COMPONENTS = [
  "chainfire", "iam", "flaredb", "plasmavmc", "lightningstor", "flashdns", "fiberlb", "novanet", "k8shost",
  "metricstor", "baremetal",
] as const;

/** Services `photon certs` issues certificates for by default: the components plus `admin` and `client`. */
export const DEFAULT_SERVICES: readonly string[] = [...COMPONENTS, "admin", "client"];

/** Default validity of the CA, in days (10 years). */
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
/** Default validity of service certificates, in days (1 year). */
export const DEFAULT_LEAF_VALIDITY_DAYS = 365;

const ecAlg = { name: "ECDSA", namedCurve: "P-256" };
const signingAlg = { name: "ECDSA", hash: "SHA-256" };
const dayMs = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past so a peer whose clock lags still accepts them. */
const backdateMs = 5 * 60 * 1000;
const organisation = "PhotonCloud";

/** A loaded or freshly made CA: its PEM files and what is needed to sign with it. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
}

/** Options of `createCa`. */
export interface CreateCaOptions {
  /** Subject common name; default "PhotonCloud Development CA". */
  commonName?: string;
  /** Days of validity; default 3650. */
  validityDays?: number;
  /** The current time (tests). */
  now?: Date;
}

/**
 * Makes a new self-signed CA: ECDSA P-256, basicConstraints CA:true pathLength 0 (critical),
 * keyUsage keyCertSign+cRLSign (critical). Nothing is written to disk.
 * @throws CERTS:InvalidArgument if `validityDays` is not a positive integer.
 * @example const ca = await createCa({ validityDays: 365 });
 */
export async function createCa(options: CreateCaOptions = {}): Promise<CertificateAuthority> {
  const validityDays = checkDays("CA validity", options.validityDays ?? DEFAULT_CA_VALIDITY_DAYS);
  const now = options.now ?? new Date();
  const keys = await generateKeys();
  const name = new x509.Name([
    { CN: [options.commonName ?? "PhotonCloud Development CA"] },
    { O: [organisation] },
  ]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    notBefore: new Date(now.getTime() - backdateMs),
    notAfter: new Date(now.getTime() + validityDays * dayMs),
    signingAlgorithm: signingAlg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await privateKeyPem(keys.privateKey), cert, privateKey: keys.privateKey };
}

/**
 * Loads a CA from its PEM certificate and PKCS#8 PEM key, checking that the certificate is a CA
 * allowed to sign certificates and that the key belongs to it.
 * @throws CERTS:CaInvalid if either does not parse, the key does not match, or the certificate is not a CA.
 */
export async function loadCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  let cert: x509.X509Certificate;
  let privateKey: CryptoKey;
  try {
    cert = new x509.X509Certificate(certPem);
    privateKey = await importPrivateKey(keyPem);
  } catch (e) {
    throw CertsErrors.CaInvalid(`cannot parse the CA: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (!bc?.ca || (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign))) {
    throw CertsErrors.CaInvalid("ca.crt is not a CA certificate allowed to sign certificates");
  }
  if (!(await keyMatchesCert(privateKey, cert))) {
    throw CertsErrors.CaInvalid("ca.key does not belong to ca.crt");
  }
  return { certPem, keyPem, cert, privateKey };
}

/** Options of `issueCert`. */
export interface IssueCertOptions {
  /** The service name: a DNS label (`[a-z0-9-]`, at most 63); it is the CN and a DNS SAN. */
  service: string;
  /** This node's name, added as a DNS SAN; default the OS host name (left out if it is not a DNS name). */
  nodeName?: string;
  /** Extra DNS SANs (a leading `*.` wildcard is allowed). */
  hosts?: readonly string[];
  /** Extra IP SANs (IPv4 or IPv6). */
  ips?: readonly string[];
  /** Days of validity; default 365. Never extends past the CA's own expiry. */
  validityDays?: number;
  /** The current time (tests). */
  now?: Date;
}

/** A certificate issued by `issueCert`. */
export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** The DNS SANs, in order: localhost, the service, the node name, then extra hosts. */
  dnsNames: string[];
  /** The IP SANs: 127.0.0.1, ::1, then extra IPs (canonical form). */
  ips: string[];
  notAfter: Date;
}

/**
 * Issues a certificate for `service` signed by `ca`, usable as TLS server and client certificate:
 * SANs DNS:localhost, DNS:<service>, DNS:<node name>, IP:127.0.0.1, IP:::1 plus the extra ones;
 * extendedKeyUsage serverAuth+clientAuth; keyUsage digitalSignature; CA:false.
 * @throws CERTS:InvalidArgument for a bad service name, host, IP or validity.
 * @example const { certPem, keyPem } = await issueCert(ca, { service: "iam", hosts: ["iam.example.internal"] });
 */
export async function issueCert(ca: CertificateAuthority, options: IssueCertOptions): Promise<IssuedCert> {
  const service = checkServiceName(options.service);
  const validityDays = checkDays("certificate validity", options.validityDays ?? DEFAULT_LEAF_VALIDITY_DAYS);
  const { dnsNames, ips } = subjectAltNames(service, options);
  const now = options.now ?? new Date();
  const notAfter = new Date(Math.min(now.getTime() + validityDays * dayMs, ca.cert.notAfter.getTime()));
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    subject: new x509.Name([{ CN: [service] }, { O: [organisation] }]),
    issuer: ca.cert.subjectName,
    notBefore: new Date(now.getTime() - backdateMs),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: signingAlg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...ips.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await privateKeyPem(keys.privateKey), dnsNames, ips, notAfter: cert.notAfter };
}

/** Options of `generateCerts`. */
export interface GenerateCertsOptions {
  /** Output directory; created (mode 0700) if missing. */
  dir: string;
  /** Services to issue certificates for; default `DEFAULT_SERVICES`. */
  services?: readonly string[];
  /** Extra DNS SANs for every service certificate. */
  hosts?: readonly string[];
  /** Extra IP SANs for every service certificate. */
  ips?: readonly string[];
  /** See `IssueCertOptions.nodeName`. */
  nodeName?: string;
  /** Days of validity of a CA made by this call; default 3650. */
  caValidityDays?: number;
  /** Days of validity of the service certificates issued; default 365. */
  leafValidityDays?: number;
  /** Replace an existing CA (and so reissue every requested certificate). */
  force?: boolean;
  /** The current time (tests). */
  now?: Date;
}

/**
 * What happened to a file pair: `created` (new), `kept` (already there and fine) or `renewed`
 * (there but unusable — see `reason` — so replaced).
 */
export type CertStatus = "created" | "kept" | "renewed";

/** One service's outcome in `generateCerts`. */
export interface ServiceCertResult {
  service: string;
  status: CertStatus;
  /** Why a certificate was renewed. */
  reason?: string;
  certPath: string;
  keyPath: string;
  dnsNames: string[];
  ips: string[];
  notAfter: string;
}

/** The outcome of `generateCerts`. */
export interface GenerateCertsResult {
  dir: string;
  ca: { status: "created" | "kept" | "replaced"; certPath: string; keyPath: string; notAfter: string };
  services: ServiceCertResult[];
}

/**
 * Makes (or completes) a certificate directory: the CA if there is none (or `force`), then a
 * certificate per service. An existing service certificate is kept when it is signed by the CA,
 * its key matches, it has every requested SAN and it is not close to expiry (less than 30 days,
 * or less than half its requested validity, left); otherwise it is renewed. With `force` the CA is
 * replaced and every requested certificate reissued; certificates of services not listed are left
 * in place and no longer verify against the new CA.
 * @throws CERTS:InvalidArgument for bad options (checked before anything is written),
 *   CERTS:DirNotWritable if `dir` cannot be created or written,
 *   CERTS:CaIncomplete if only one of ca.crt/ca.key exists (without `force`),
 *   CERTS:CaInvalid if the existing CA cannot be used or has expired (without `force`).
 * @example await generateCerts({ dir: "./data/certs", services: ["iam", "client"], hosts: ["node1.lan"] });
 */
export async function generateCerts(options: GenerateCertsOptions): Promise<GenerateCertsResult> {
  if (typeof options.dir !== "string" || options.dir === "") throw CertsErrors.InvalidArgument("dir must be a non-empty path");
  const services = [...new Set((options.services ?? DEFAULT_SERVICES).map(checkServiceName))];
  if (services.length === 0) throw CertsErrors.InvalidArgument("services must name at least one service");
  const caValidityDays = checkDays("CA validity", options.caValidityDays ?? DEFAULT_CA_VALIDITY_DAYS);
  const leafValidityDays = checkDays("certificate validity", options.leafValidityDays ?? DEFAULT_LEAF_VALIDITY_DAYS);
  const now = options.now ?? new Date();
  const leafOptions = { nodeName: options.nodeName, hosts: options.hosts, ips: options.ips, validityDays: leafValidityDays, now };
  // Validate hosts/IPs before touching the disk.
  for (const service of services) subjectAltNames(service, leafOptions);

  const dir = options.dir;
  const caCertPath = join(dir, "ca.crt");
  const caKeyPath = join(dir, "ca.key");
  return withDirErrors(dir, async () => {
    await ensureDir(dir);
    const [caCertPem, caKeyPem] = await Promise.all([readIfExists(caCertPath), readIfExists(caKeyPath)]);
    let ca: CertificateAuthority;
    let caStatus: GenerateCertsResult["ca"]["status"];
    if (caCertPem !== undefined && caKeyPem !== undefined && !options.force) {
      ca = await loadCa(caCertPem, caKeyPem);
      if (ca.cert.notAfter.getTime() <= now.getTime()) {
        throw CertsErrors.CaInvalid(`${caCertPath} expired on ${ca.cert.notAfter.toISOString()}; pass force to make a new CA`);
      }
      caStatus = "kept";
    } else if ((caCertPem !== undefined) !== (caKeyPem !== undefined) && !options.force) {
      const missing = caCertPem === undefined ? "ca.crt" : "ca.key";
      throw CertsErrors.CaIncomplete(`${dir} has a CA without ${missing}`);
    } else {
      ca = await createCa({ validityDays: caValidityDays, now });
      // Key first: a crash in between leaves a key without a certificate (CaIncomplete), never a
      // new certificate whose key is lost.
      await writeFileAtomic(caKeyPath, ca.keyPem, 0o600);
      await writeFileAtomic(caCertPath, ca.certPem, 0o644);
      caStatus = caCertPem === undefined && caKeyPem === undefined ? "created" : "replaced";
    }

    const results: ServiceCertResult[] = [];
    for (const service of services) {
      const certPath = join(dir, `${service}.crt`);
      const keyPath = join(dir, `${service}.key`);
      const wanted = subjectAltNames(service, leafOptions);
      let status: CertStatus = "created";
      let reason: string | undefined;
      if (caStatus === "kept") {
        const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
        if (certPem !== undefined || keyPem !== undefined) {
          reason = await whyUnusable(ca, certPem, keyPem, wanted, leafValidityDays, now);
          if (reason === undefined) {
            const cert = new x509.X509Certificate(certPem as string);
            results.push({
              service, status: "kept", certPath, keyPath, dnsNames: dnsNamesOf(cert), ips: ipsOf(cert),
              notAfter: cert.notAfter.toISOString(),
            });
            continue;
          }
          status = "renewed";
        }
      } else if ((await readIfExists(certPath)) !== undefined) {
        status = "renewed";
        reason = caStatus === "replaced" ? "the CA was replaced" : "the CA was new";
      }
      const issued = await issueCert(ca, { service, ...leafOptions });
      await writeFileAtomic(keyPath, issued.keyPem, 0o600);
      await writeFileAtomic(certPath, issued.certPem, 0o644);
      results.push({
        service, status, ...(reason === undefined ? {} : { reason }), certPath, keyPath,
        dnsNames: issued.dnsNames, ips: issued.ips, notAfter: issued.notAfter.toISOString(),
      });
    }
    return {
      dir,
      ca: { status: caStatus, certPath: caCertPath, keyPath: caKeyPath, notAfter: ca.cert.notAfter.toISOString() },
      services: results,
    };
  });
}

/** Why an existing certificate/key pair cannot be kept, or undefined if it can. */
async function whyUnusable(
  ca: CertificateAuthority,
  certPem: string | undefined,
  keyPem: string | undefined,
  wanted: { dnsNames: string[]; ips: string[] },
  leafValidityDays: number,
  now: Date,
): Promise<string | undefined> {
  if (certPem === undefined) return "the certificate was missing";
  if (keyPem === undefined) return "the key was missing";
  let cert: x509.X509Certificate;
  let key: CryptoKey;
  try {
    cert = new x509.X509Certificate(certPem);
    key = await importPrivateKey(keyPem);
  } catch {
    return "the certificate or key did not parse";
  }
  if (!(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }))) return "it was signed by another CA";
  if (!(await keyMatchesCert(key, cert))) return "the key did not match the certificate";
  const margin = Math.min(30 * dayMs, (leafValidityDays * dayMs) / 2);
  if (cert.notAfter.getTime() - now.getTime() < margin) return "it expires soon";
  const haveDns = new Set(dnsNamesOf(cert));
  const haveIps = new Set(ipsOf(cert));
  const missing = [...wanted.dnsNames.filter((n) => !haveDns.has(n)), ...wanted.ips.filter((ip) => !haveIps.has(ip))];
  if (missing.length > 0) return `it lacked ${missing.join(", ")}`;
  return undefined;
}

/** Maps filesystem errors caused by `dir` to CERTS:DirNotWritable. */
async function withDirErrors<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PhotonError) throw e;
    if (isUnusablePathError(e)) {
      const why = e instanceof Error ? e.message : String(e);
      throw CertsErrors.DirNotWritable(`cannot write certificates to ${dir}: ${why}`, { cause: e });
    }
    throw e;
  }
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ecAlg, true, ["sign", "verify"]);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY") + "\n";
}

/** Imports a PKCS#8 PEM P-256 key (extractable, so its public point can be compared with a certificate). */
async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.subtle.importKey("pkcs8", der, ecAlg, true, ["sign"]);
}
