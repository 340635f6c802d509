/**
 * Structured JSON-line logging. One line per event on stderr:
 * `{"ts":"...","level":"info","component":"iam","msg":"...", ...fields}`.
 * The level comes from PHOTON_LOG_LEVEL (debug|info|warn|error, default info).
 * Never log secrets: fields named like secrets are redacted.
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secretField = /pass(word)?|secret|token|authorization|private.?key/i;

/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** A logger bound to a component (and optional fixed fields). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Where lines go; tests may replace it. */
export interface LogSink {
  write(line: string): void;
}

const stderrSink: LogSink = { write: (line) => process.stderr.write(line) };

function parseLevel(v: string | undefined): LogLevel {
  return v === "debug" || v === "info" || v === "warn" || v === "error" ? v : "info";
}

function serialise(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return { message: v.message, ...(code !== undefined ? { code } : {}) };
  }
  if (typeof v === "bigint") return v.toString();
  return v;
}

/**
 * Creates a logger for `component`.
 * @example createLogger("chainfire").info("leader elected", { term: 3 })
 */
export function createLogger(
  component: string,
  options: { level?: LogLevel; sink?: LogSink; fields?: LogFields } = {},
): Logger {
  const min = order[options.level ?? parseLevel(process.env.PHOTON_LOG_LEVEL)];
  const sink = options.sink ?? stderrSink;
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (order[level] < min) return;
    const line: Record<string, unknown> = { ts: new Date().toISOString(), level, component, msg };
    for (const [k, v] of Object.entries({ ...base, ...fields })) {
      line[k] = secretField.test(k) ? "[redacted]" : serialise(v);
    }
    sink.write(JSON.stringify(line) + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(component, { level: options.level, sink, fields: { ...base, ...fields } }),
  };
}
