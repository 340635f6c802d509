/**
 * Name rules of the development CA (`lib/certs.ts`): which service names, host names and IP
 * addresses a certificate may carry, and their canonical forms (so that "is this name already in
 * the certificate" is a plain string comparison).
 */

import { hostname } from "node:os";
import { isIP } from "node:net";
import { CertsErrors } from "./certs-errors.ts";

/** The names that go into a service certificate besides the service itself. */
export interface SubjectAltNameOptions {
  nodeName?: string;
  hosts?: readonly string[];
  ips?: readonly string[];
}

/** One DNS label, lowercase. */
const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates a service name (a lowercase DNS label, not "ca"); it is also a file name, so this is
 * what keeps paths inside the certificate directory.
 * @throws CERTS:InvalidArgument
 */
export function checkServiceName(name: unknown): string {
  if (typeof name !== "string" || !dnsLabel.test(name)) {
    throw CertsErrors.InvalidArgument(
      `invalid service name ${JSON.stringify(name)}: use lowercase letters, digits and '-' (at most 63)`,
    );
  }
  if (name === "ca") throw CertsErrors.InvalidArgument('"ca" is reserved for the CA\'s own files');
  return name;
}

/**
 * Validates a validity period in days (a positive integer); `what` names it in the error.
 * @throws CERTS:InvalidArgument
 */
export function checkDays(what: string, days: number): number {
  if (!Number.isSafeInteger(days) || days <= 0) throw CertsErrors.InvalidArgument(`${what} must be a positive whole number of days`);
  return days;
}

/** True for a DNS name (lowercase labels; optional leading `*.` wildcard). */
export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  if (labels[0] === "*") labels.shift();
  return labels.length > 0 && labels.every((l) => dnsLabel.test(l));
}

/**
 * The SANs of a service certificate, validated, canonical and de-duplicated: DNS localhost,
 * `service`, the node name (default the OS host name, skipped if it is not a DNS name) and
 * `hosts`; IP 127.0.0.1, ::1 and `ips`.
 * @throws CERTS:InvalidArgument for a bad node name, host or IP.
 */
export function subjectAltNames(service: string, options: SubjectAltNameOptions): { dnsNames: string[]; ips: string[] } {
  const dns = ["localhost", service];
  if (options.nodeName !== undefined) {
    const node = options.nodeName.toLowerCase();
    if (!isDnsName(node)) throw CertsErrors.InvalidArgument(`invalid node name ${JSON.stringify(options.nodeName)}`);
    dns.push(node);
  } else {
    const node = hostname().toLowerCase();
    if (isDnsName(node)) dns.push(node);
  }
  for (const host of options.hosts ?? []) {
    const h = typeof host === "string" ? host.toLowerCase().replace(/\.$/, "") : "";
    if (!isDnsName(h)) throw CertsErrors.InvalidArgument(`invalid host name ${JSON.stringify(host)}`);
    dns.push(h);
  }
  const ips = ["127.0.0.1", "::1"];
  for (const ip of options.ips ?? []) {
    const c = typeof ip === "string" ? canonicalIp(ip) : undefined;
    if (c === undefined) throw CertsErrors.InvalidArgument(`invalid IP address ${JSON.stringify(ip)}`);
    ips.push(c);
  }
  return { dnsNames: [...new Set(dns)], ips: [...new Set(ips)] };
}

/** The canonical text of an IP address (`::ffff:1.2.3.4` → `::ffff:102:304`), or undefined if it is not one. */
export function canonicalIp(ip: string): string | undefined {
  const v = isIP(ip);
  if (v === 0 || ip.includes("%")) return undefined;
  // WHATWG URL host parsing canonicalises IPv4 and IPv6 (lowercase, longest zero run compressed).
  const host = new URL(v === 6 ? `http://[${ip}]/` : `http://${ip}/`).hostname;
  return v === 6 ? host.slice(1, -1) : host;
}
