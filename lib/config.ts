/**
 * Loading PhotonCloud's configuration. Layers, later ones winning:
 * 1. the defaults of `config-schema.ts` (they run the all-in-one on one machine);
 * 2. a TOML file (`photon.toml`), when one is given;
 * 3. environment variables `PHOTON_<SECTION>_<KEY>` (`PHOTON_NODE_DATA_DIR` sets `[node] data_dir`);
 * 4. command-line flags, as dotted keys (`{ "node.data_dir": "/srv/photon" }`).
 *
 * Strict at the boundary: an unknown section or key in the file or the flags, an environment
 * variable naming a known section but an unknown key, or a value of the wrong type stops the
 * process with a `CONFIG:Invalid` error whose message has one line per problem, naming the key and
 * its source. Environment variables whose section is unknown are left alone (they belong to
 * someone else), and `PHOTON_LOG_LEVEL` is reserved for `lib/log.ts`.
 */
import { readFileSync } from "node:fs";
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { coerceString, fieldKind, kindName } from "./config-coerce.ts";
import { ConfigErrors } from "./config-errors.ts";
import { configSchema, configSections, type ConfigSectionName, type PhotonConfig } from "./config-schema.ts";

export type { PhotonConfig } from "./config-schema.ts";

/** Where the configuration comes from; every field is optional. */
export interface LoadConfigOptions {
  /** Path of a TOML file. When given it must exist; when absent only defaults, env and flags apply. */
  file?: string;
  /** Environment to read `PHOTON_*` variables from; defaults to `process.env`. Pass `{}` to ignore it. */
  env?: Record<string, string | undefined>;
  /** Overrides by dotted key (`"admin.http_port": "8080"`), typically from `--admin.http_port=8080`. */
  flags?: Record<string, string>;
}

/** Environment variables that look like configuration but belong to something else. */
export const reservedEnvVars: ReadonlySet<string> = new Set(["PHOTON_LOG_LEVEL"]);

/** Where a key's value came from, as shown in error messages. */
type Source = { kind: "file"; path: string } | { kind: "env"; name: string } | { kind: "flag"; key: string };

function sourceLabel(source: Source): string {
  switch (source.kind) {
    case "file":
      return `in ${source.path}`;
    case "env":
      return `from ${source.name}`;
    case "flag":
      return `from flag --${source.key}`;
  }
}

/** Renders a value the way the user wrote it: strings quoted, tables and lists as JSON. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return "a table";
  return String(value);
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function isSection(name: string): name is ConfigSectionName {
  return Object.hasOwn(configSections, name);
}

function keySchema(section: ConfigSectionName, key: string): z.ZodTypeAny | undefined {
  const shape = configSections[section].shape as Record<string, z.ZodTypeAny>;
  return Object.hasOwn(shape, key) ? shape[key] : undefined;
}

/** Sections longest first, so `PHOTON_OBJECT_STORE_X` finds `object_store` before `object`. */
const envPrefixes = (Object.keys(configSections) as ConfigSectionName[])
  .map((section) => ({ section, prefix: `PHOTON_${section.toUpperCase()}_` }))
  .sort((a, b) => b.prefix.length - a.prefix.length);

/** The environment variable that sets `section.key`. */
export function envVarName(section: string, key: string): string {
  return `PHOTON_${section.toUpperCase()}_${key.toUpperCase()}`;
}

/** The raw values gathered from every layer, with where each came from and what was wrong. */
class Layers {
  readonly raw: Record<string, Record<string, unknown>> = Object.create(null);
  readonly sources = new Map<string, Source>();
  readonly problems: string[] = [];

  set(section: ConfigSectionName, key: string, value: unknown, source: Source): void {
    this.raw[section] ??= Object.create(null) as Record<string, unknown>;
    this.raw[section][key] = value;
    this.sources.set(`${section}.${key}`, source);
  }

  /** Coerces a string for `section.key` and sets it, or records why it cannot. */
  setString(section: ConfigSectionName, key: string, schema: z.ZodTypeAny, value: string, source: Source): void {
    const kind = fieldKind(schema);
    if (kind === undefined) {
      this.problems.push(`config: ${section}.${key}: cannot be set ${sourceLabel(source)}; set it in the file`);
      return;
    }
    const coerced = coerceString(kind, value);
    if (coerced.ok) this.set(section, key, coerced.value, source);
    else this.problems.push(`config: ${section}.${key}: expected ${coerced.expected}, got ${show(value)} (${sourceLabel(source)})`);
  }
}

function readToml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (e as Error).message;
    throw ConfigErrors.Invalid(`config: cannot read ${path}: ${why}`, { cause: e });
  }
  try {
    return parseToml(text);
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const why = (e.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    throw ConfigErrors.Invalid(`config: invalid TOML in ${path} at line ${e.line}, column ${e.column}: ${why}`, {
      cause: e,
    });
  }
}

function addFile(layers: Layers, path: string): void {
  const source: Source = { kind: "file", path };
  for (const [section, table] of Object.entries(readToml(path))) {
    if (!isSection(section)) {
      layers.problems.push(`config: unknown section "${section}" in ${path}`);
      continue;
    }
    if (!isTable(table)) {
      layers.problems.push(`config: ${section}: expected a table, got ${show(table)} (in ${path})`);
      continue;
    }
    for (const [key, value] of Object.entries(table)) {
      if (keySchema(section, key) === undefined) layers.problems.push(`config: unknown key "${section}.${key}" in ${path}`);
      else layers.set(section, key, value, source);
    }
  }
}

function addEnv(layers: Layers, env: Record<string, string | undefined>): void {
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value === undefined || !name.startsWith("PHOTON_") || reservedEnvVars.has(name)) continue;
    const match = envPrefixes.find((p) => name.startsWith(p.prefix));
    if (match === undefined) continue;
    const rest = name.slice(match.prefix.length);
    const key = rest.toLowerCase();
    const source: Source = { kind: "env", name };
    if (rest !== rest.toUpperCase()) {
      layers.problems.push(`config: ${name}: environment variable names are upper case (${envVarName(match.section, key)})`);
      continue;
    }
    const schema = keySchema(match.section, key);
    if (schema === undefined) {
      layers.problems.push(`config: unknown key "${match.section}.${key}" ${sourceLabel(source)}`);
      continue;
    }
    // An empty variable counts as unset, as templated environments often define every name.
    if (value !== "") layers.setString(match.section, key, schema, value, source);
  }
}

function addFlags(layers: Layers, flags: Record<string, string>): void {
  for (const [dotted, value] of Object.entries(flags)) {
    const source: Source = { kind: "flag", key: dotted };
    const dot = dotted.indexOf(".");
    const section = dot < 0 ? dotted : dotted.slice(0, dot);
    const key = dot < 0 ? "" : dotted.slice(dot + 1);
    if (!isSection(section)) {
      layers.problems.push(`config: unknown section "${section}" ${sourceLabel(source)}`);
      continue;
    }
    const schema = keySchema(section, key);
    if (schema === undefined) {
      layers.problems.push(`config: unknown key "${dotted}" ${sourceLabel(source)}`);
      continue;
    }
    layers.setString(section, key, schema, value, source);
  }
}

/** One line for a zod issue, naming the key, the problem, the value and its source. */
function describeIssue(issue: z.ZodIssue, layers: Layers): string {
  const key = issue.path.join(".");
  const source = layers.sources.get(key);
  const [section, field] = issue.path.map(String);
  const value = section !== undefined && field !== undefined ? layers.raw[section]?.[field] : undefined;
  const schema = section !== undefined && field !== undefined && isSection(section) ? keySchema(section, field) : undefined;
  const kind = schema && fieldKind(schema);
  let problem: string;
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      problem = issue.received === "undefined" ? "required" : `expected ${kind ? kindName(kind) : issue.expected}, got ${show(value)}`;
      break;
    case z.ZodIssueCode.too_small:
      problem =
        issue.type === "number" ? `must be ${issue.inclusive ? ">=" : ">"} ${issue.minimum}, got ${show(value)}` : issue.message;
      break;
    case z.ZodIssueCode.too_big:
      problem =
        issue.type === "number" ? `must be ${issue.inclusive ? "<=" : "<"} ${issue.maximum}, got ${show(value)}` : issue.message;
      break;
    case z.ZodIssueCode.invalid_enum_value:
      problem = `expected one of ${issue.options.join("|")}, got ${show(value)}`;
      break;
    case z.ZodIssueCode.unrecognized_keys:
      return issue.keys.map((k) => `config: unknown key "${key ? `${key}.${k}` : k}"`).join("\n");
    default:
      problem = issue.message;
  }
  return `config: ${key}: ${problem}${source ? ` (${sourceLabel(source)})` : ""}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Loads, layers and validates the configuration, returning it deeply frozen.
 * @throws PhotonError `CONFIG:Invalid` when the file is missing or not TOML, or any key is unknown
 *   or ill-typed; the message has one line per problem, e.g.
 *   `config: admin.http_port: expected integer, got "abc" (from PHOTON_ADMIN_HTTP_PORT)`.
 * @example
 * const config = loadConfig({ file: "photon.toml", flags: { "node.data_dir": "/srv/photon" } });
 * config.engine.block_cache_mb; // 64 unless overridden
 */
export function loadConfig(options: LoadConfigOptions = {}): PhotonConfig {
  const layers = new Layers();
  if (options.file !== undefined) addFile(layers, options.file);
  addEnv(layers, options.env ?? process.env);
  addFlags(layers, options.flags ?? {});
  const result = configSchema.safeParse(layers.raw);
  const problems = [...layers.problems, ...(result.success ? [] : result.error.issues.map((i) => describeIssue(i, layers)))];
  if (problems.length > 0 || !result.success) {
    throw ConfigErrors.Invalid(problems.join("\n"), { details: { problems } });
  }
  return deepFreeze(result.data);
}

/**
 * Validates a configuration file on its own, ignoring the environment and flags
 * (`photon config check FILE`). Returns the configuration it describes.
 * @throws PhotonError `CONFIG:Invalid`, as `loadConfig`.
 */
export function checkConfigFile(path: string): PhotonConfig {
  return loadConfig({ file: path, env: {} });
}
