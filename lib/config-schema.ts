/**
 * The one configuration schema of PhotonCloud (`photon.toml`). One strict zod object per TOML
 * section; `lib/config.ts` layers the file, `PHOTON_<SECTION>_<KEY>` environment variables and
 * command-line flags over the defaults below and validates the result against this schema.
 *
 * Design constraints, so that every key has exactly one environment variable and one flag:
 * - a section is a flat table: its values are integers, booleans, strings, string enums or lists of
 *   strings (no nested tables, no floats); `config-schema.test.ts` enforces it;
 * - section and key names are snake_case (`data_dir`, never `dataDir`);
 * - every key has a default that works for the all-in-one on one machine, or is optional.
 *
 * To add a section: declare `xxxSection` here, add it to `configSections`, and document its keys.
 */
import { hostname } from "node:os";
import { z } from "zod";

/** A TCP port; 0 asks the OS for a free one (tests, ephemeral listeners). */
export const portSchema = z.number().int().min(0).max(65535);

/** A filesystem path; relative paths resolve against the working directory of the process. */
const pathSchema = z.string().min(1, "must not be empty");

/** A host name or IP address to bind to or advertise. */
const hostSchema = z.string().min(1, "must not be empty");

/** `[node]`: who this process is and where it keeps its data. */
export const nodeSection = z
  .object({
    /** The node's name in the cluster; defaults to the machine's hostname. */
    name: z.string().min(1, "must not be empty").default(() => hostname()),
    /** Root of all on-disk state; each service uses `<data_dir>/<service>/`. */
    data_dir: pathSchema.default("./data"),
    /** Address every listener binds to; loopback keeps the all-in-one private. */
    bind_host: hostSchema.default("127.0.0.1"),
    /** Address other nodes and clients use to reach this one. */
    advertise_host: hostSchema.default("127.0.0.1"),
  })
  .strict();

/** `[admin]`: the all-in-one supervisor's health, metrics and status endpoint. */
export const adminSection = z
  .object({
    /** Port of `/healthz`, `/readyz`, `/metrics` and `/status` of the supervisor. */
    http_port: portSchema.default(7070),
  })
  .strict();

/** `[tls]`: certificates for every listener; mTLS between services when `require_client_cert`. */
export const tlsSection = z
  .object({
    /** Serve TLS on every listener (needs `cert_file` and `key_file`). */
    enabled: z.boolean().default(false),
    /** CA bundle (PEM) that verifies peers; required by `require_client_cert`. */
    ca_file: pathSchema.optional(),
    /** This node's certificate chain (PEM). */
    cert_file: pathSchema.optional(),
    /** This node's private key (PEM). */
    key_file: pathSchema.optional(),
    /** mTLS: reject clients that do not present a certificate signed by `ca_file`. */
    require_client_cert: z.boolean().default(false),
  })
  .strict();

/** `[engine]`: the native storage engine (RocksDB) shared by the services of this process. */
export const engineSection = z
  .object({
    /** Block cache size in MiB. */
    block_cache_mb: z.number().int().min(1).default(64),
    /** Memtable size in MiB before a flush. */
    write_buffer_mb: z.number().int().min(1).default(32),
    /** Compress SST blocks (LZ4). */
    compression: z.boolean().default(true),
  })
  .strict();

/** `[chainfire]`: the control-plane store (etcd v3 API). */
export const chainfireSection = z
  .object({
    /** Port of the etcd v3 gRPC API (etcd's client port). */
    client_port: portSchema.default(2379),
    /** Port of /healthz, /readyz and /metrics. */
    http_port: portSchema.default(2381),
    /** Port of the Raft transport between members (etcd's peer port). */
    peer_port: portSchema.default(2380),
    /** Client endpoint of a member of the cluster to join (empty: start or reopen alone). */
    join: z.string().default(""),
    /** Database size that raises the NOSPACE alarm, in bytes (etcd's default 2 GiB). */
    quota_bytes: z.number().int().min(1).default(2 * 1024 ** 3),
  })
  .strict();

/** `[iam]`: identity, tenancy and authorisation (REST and gRPC APIs, JWKS, service catalog). */
export const iamSection = z
  .object({
    /** Port of the REST/JSON API (`/v1/...`, `/.well-known/jwks.json`, `/openapi.json`) and health. */
    http_port: portSchema.default(7080),
    /** Port of the gRPC API (`photon.iam.v1.Iam`). */
    grpc_port: portSchema.default(7081),
    /** Issuer (`iss`) of access tokens; empty: the REST API's URL. */
    issuer: z.string().default(""),
    /** Key-encryption key file (32 bytes, mode 0600); empty: `<data_dir>/iam/kek`, created on first start. */
    kek_file: z.string().default(""),
    /** Age after which the token signing key is rotated, in seconds. */
    key_rotation_seconds: z.number().int().min(60).default(7 * 24 * 3600),
  })
  .strict();

/** Every section, keyed by its TOML table name. Add new sections here. */
export const configSections = {
  node: nodeSection,
  admin: adminSection,
  tls: tlsSection,
  engine: engineSection,
  chainfire: chainfireSection,
  iam: iamSection,
} as const;

/** The name of a configuration section. */
export type ConfigSectionName = keyof typeof configSections;

/** Rules that span keys; each problem names the key to fix. */
function crossChecks(config: z.output<z.ZodObject<typeof configSections>>, ctx: z.RefinementCtx): void {
  const { tls } = config;
  if (tls.enabled) {
    if (tls.cert_file === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tls", "cert_file"], message: "required when tls.enabled is true" });
    }
    if (tls.key_file === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tls", "key_file"], message: "required when tls.enabled is true" });
    }
  }
  if (tls.require_client_cert && tls.ca_file === undefined) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["tls", "ca_file"],
      message: "required when tls.require_client_cert is true",
    });
  }
  if (tls.require_client_cert && !tls.enabled) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["tls", "require_client_cert"],
      message: "needs tls.enabled = true",
    });
  }
}

/**
 * The whole configuration: every section, each defaulted to `{}` so an empty file is valid.
 * Unknown sections and keys are rejected (strict objects).
 */
export const configSchema = z
  .object(
    Object.fromEntries(
      Object.entries(configSections).map(([name, section]) => [name, (section as z.AnyZodObject).default({})]),
    ) as { [K in ConfigSectionName]: z.ZodDefault<(typeof configSections)[K]> },
  )
  .strict()
  .superRefine(crossChecks);

/** The validated configuration every component receives. */
export type PhotonConfig = z.output<typeof configSchema>;
