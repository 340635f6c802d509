/**
 * `photon certs`: makes the development CA and a certificate per service (see `lib/certs.ts`).
 *
 * Exit codes: 0 done, 2 bad input (unknown flag, bad value, unusable directory, broken CA on
 * disk), 1 anything unexpected. Errors are one line on stderr.
 */

import { parseArgs } from "node:util";
import { relative } from "node:path";
import {
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_LEAF_VALIDITY_DAYS,
  DEFAULT_SERVICES,
  generateCerts,
  type GenerateCertsResult,
} from "../../lib/certs.ts";
import { PhotonError } from "../../lib/errors.ts";

/** Where the command writes; tests replace it. */
export interface CertsCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CertsCommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** The default output directory, relative to the working directory. */
export const DEFAULT_CERTS_DIR = "./data/certs";

const usage = `usage: photon certs [--dir DIR] [--services a,b,c] [--host NAME]... [--ip ADDR]...
                    [--days N] [--ca-days N] [--force] [-o text|json]

Creates a development CA (DIR/ca.crt, DIR/ca.key) and, per service, DIR/<service>.crt and
DIR/<service>.key, usable as TLS server and client (mTLS) certificates. An existing CA is kept
and only missing or unusable service certificates are (re)issued; --force replaces the CA and
reissues every listed certificate.

  --dir DIR         output directory (default ${DEFAULT_CERTS_DIR})
  --services LIST   comma-separated services (default ${DEFAULT_SERVICES.join(",")})
  --host NAME       extra DNS name for every certificate (repeatable)
  --ip ADDR         extra IP address for every certificate (repeatable)
  --days N          service certificate validity in days (default ${DEFAULT_LEAF_VALIDITY_DAYS})
  --ca-days N       CA validity in days when one is made (default ${DEFAULT_CA_VALIDITY_DAYS})
  --force           replace an existing CA
  -o, --output FMT  text (default) or json
  -h, --help        show this help
`;

/** Bad command-line input: reported as one line, exit code 2. */
class UsageError extends Error {}

/**
 * Runs `photon certs` with `argv`, the arguments after `certs`; resolves to the exit code.
 * Never throws: every failure is reported on stderr.
 * @example process.exitCode = await run(["--dir", "/tmp/certs", "--services", "iam,client"]);
 */
export async function run(argv: string[], io: CertsCommandIo = processIo): Promise<number> {
  try {
    const args = parse(argv);
    if (args === "help") {
      io.stdout(usage);
      return 0;
    }
    const result = await generateCerts(args.options);
    io.stdout(args.json ? JSON.stringify(result, null, 2) + "\n" : formatText(result));
    return 0;
  } catch (e) {
    const { message, code } = describe(e);
    io.stderr(`photon certs: ${message}\n`);
    return code;
  }
}

function parse(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        dir: { type: "string" },
        services: { type: "string", multiple: true },
        host: { type: "string", multiple: true },
        ip: { type: "string", multiple: true },
        days: { type: "string" },
        "ca-days": { type: "string" },
        force: { type: "boolean" },
        output: { type: "string", short: "o" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    // parseArgs errors (unknown flag, missing value, stray argument) are usage errors.
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return "help" as const;
  const output = values.output ?? "text";
  if (output !== "text" && output !== "json") throw new UsageError(`-o must be text or json, not ${JSON.stringify(output)}`);
  if (values.dir === "") throw new UsageError("--dir must not be empty");
  let services: string[] | undefined;
  if (values.services) {
    services = values.services.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
    if (services.length === 0) throw new UsageError("--services must name at least one service");
  }
  return {
    json: output === "json",
    options: {
      dir: values.dir ?? DEFAULT_CERTS_DIR,
      services,
      hosts: values.host ?? [],
      ips: values.ip ?? [],
      leafValidityDays: days("--days", values.days),
      caValidityDays: days("--ca-days", values["ca-days"]),
      force: values.force ?? false,
    },
  };
}

function days(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new UsageError(`${flag} must be a positive whole number of days`);
  return Number(v);
}

function describe(e: unknown): { message: string; code: number } {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ");
  if (e instanceof UsageError) return { message: `${oneLine(e.message)} (see --help)`, code: 2 };
  if (e instanceof PhotonError && e.code.startsWith("CERTS:")) return { message: oneLine(e.message), code: 2 };
  return { message: oneLine(e instanceof Error ? e.message : String(e)), code: 1 };
}

function formatText(r: GenerateCertsResult): string {
  const shown = (p: string) => {
    const rel = relative(process.cwd(), p);
    return rel.startsWith("..") || rel === "" ? p : rel;
  };
  const day = (iso: string) => iso.slice(0, 10);
  const width = Math.max(...r.services.map((s) => s.status.length), r.ca.status.length);
  const lines = [
    `${r.ca.status.padEnd(width)}  ${shown(r.ca.certPath)}, ${shown(r.ca.keyPath)}  (CA, expires ${day(r.ca.notAfter)})`,
  ];
  for (const s of r.services) {
    const why = s.reason ? `; ${s.reason}` : "";
    lines.push(`${s.status.padEnd(width)}  ${shown(s.certPath)}, ${shown(s.keyPath)}  (expires ${day(s.notAfter)}${why})`);
  }
  lines.push(`clients trust ${shown(r.ca.certPath)}; keep the .key files private`);
  return lines.join("\n") + "\n";
}
