/**
 * The small wire-level pieces of gRPC status handling shared by the server and the client:
 * `grpc-message` percent-encoding, `grpc-timeout` parsing and formatting, status names, the
 * HTTP-to-gRPC status mapping for non-gRPC answers, and turning a `PhotonError` into trailers and
 * back (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md).
 */
import { GrpcStatus, PhotonError, type GrpcStatusCode } from "../errors.ts";

/** Trailer carrying a PhotonError's stable code, so clients rebuild the error from it. */
export const ERROR_CODE_TRAILER = "photon-error-code";
/** Trailer carrying a PhotonError's `details` as percent-encoded JSON. */
export const ERROR_DETAILS_TRAILER = "photon-error-details";

const statusNames: string[] = [];
for (const [name, code] of Object.entries(GrpcStatus)) statusNames[code] = name;

/** The canonical name of a gRPC status (`UNAVAILABLE`), or `CODE_<n>` for unknown numbers. */
export function statusName(code: number): string {
  return statusNames[code] ?? `CODE_${code}`;
}

/** True when `n` is one of the 17 defined gRPC status codes. */
export function isGrpcStatus(n: number): n is GrpcStatusCode {
  return Number.isInteger(n) && n >= 0 && n <= 16;
}

/** `UNAVAILABLE` -> `Unavailable`, `DEADLINE_EXCEEDED` -> `DeadlineExceeded`. */
function pascal(name: string): string {
  return name
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

/**
 * The PhotonError code used for a gRPC status that arrived without a `photon-error-code`
 * trailer (from a foreign server, or produced by the transport): `GRPC:<PascalName>`,
 * e.g. `GRPC:Unavailable`, `GRPC:DeadlineExceeded`.
 */
export function genericErrorCode(status: number): string {
  return `GRPC:${pascal(statusName(status))}`;
}

// Bytes 0x20..0x7E except '%' pass through; everything else becomes %XX of its UTF-8 bytes.
const plain = /^[\x20-\x24\x26-\x7e]*$/;

/** Percent-encodes a `grpc-message` value as the gRPC spec requires (UTF-8, then %XX). */
export function encodeGrpcMessage(message: string): string {
  if (plain.test(message)) return message;
  const bytes = Buffer.from(message, "utf8");
  let out = "";
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out += String.fromCharCode(b);
    else out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
  }
  return out;
}

const hexDigit = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

/**
 * Decodes a percent-encoded `grpc-message`. Malformed `%` sequences are kept literally, as the
 * spec asks of receivers; invalid UTF-8 decodes to U+FFFD.
 */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length) {
      const hi = hexDigit(value.charCodeAt(i + 1));
      const lo = hexDigit(value.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        bytes.push(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(value[i] ?? "", "utf8")) bytes.push(b);
  }
  return Buffer.from(bytes).toString("utf8");
}

const timeoutUnitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * Parses a `grpc-timeout` header (1-8 ASCII digits and a unit H, M, S, m, u or n) into
 * milliseconds. Returns undefined for a malformed value.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const len = value.length;
  if (len < 2 || len > 9) return undefined;
  const unit = timeoutUnitMs[value.charAt(len - 1)];
  if (unit === undefined) return undefined;
  let n = 0;
  for (let i = 0; i < len - 1; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n * unit;
}

/** Formats a timeout in milliseconds as a `grpc-timeout` value (at most 8 digits, rounded up). */
export function formatGrpcTimeout(ms: number): string {
  if (!(ms > 0)) return "0n";
  if (ms < 1) return `${Math.ceil(ms * 1_000_000)}n`;
  const units: [string, number][] = [["m", 1], ["S", 1000], ["M", 60_000], ["H", 3_600_000]];
  for (const [unit, size] of units) {
    const v = Math.ceil(ms / size);
    if (v <= 99_999_999) return `${v}${unit}`;
  }
  return "99999999H";
}

/**
 * The gRPC status a client infers from an HTTP status when the answer carried no `grpc-status`
 * (the table in the gRPC doc http-grpc-status-mapping.md).
 */
export function grpcStatusFromHttp(httpStatus: number): GrpcStatusCode {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/**
 * Rebuilds the error a server sent: the `photon-error-code` trailer when present (with the
 * details the server attached), `GRPC:<Name>` otherwise.
 */
export function errorFromStatus(
  status: number,
  message: string,
  code: string | undefined,
  detailsJson?: string,
): PhotonError {
  const grpc = isGrpcStatus(status) ? status : GrpcStatus.UNKNOWN;
  let details: Record<string, unknown> | undefined;
  if (detailsJson) {
    try {
      const parsed: unknown = JSON.parse(decodeGrpcMessage(detailsJson));
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) details = parsed as Record<string, unknown>;
    } catch {
      // Ignore malformed details; the code and message still say what happened.
    }
  }
  return new PhotonError(code || genericErrorCode(grpc), message, details ? { grpc, details } : { grpc });
}
