/**
 * Turning configuration strings (environment variables, command-line flags) into the type a
 * schema key expects. The kind of a key is read from its zod schema, so adding a key to
 * `config-schema.ts` is enough for its environment variable and flag to work.
 */
import { z } from "zod";

/** The value kinds a configuration key may have (see the constraints in config-schema.ts). */
export type FieldKind =
  | { type: "integer" }
  | { type: "boolean" }
  | { type: "string" }
  | { type: "enum"; values: readonly string[] }
  | { type: "string-list" };

/** The outcome of coercing one string: the typed value, or what was expected. */
export type Coerced = { ok: true; value: unknown } | { ok: false; expected: string };

/** Strips the wrappers that do not change the value's kind (default, optional, refinements). */
function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodBranded) s = s.unwrap();
    else return s;
  }
}

/**
 * The kind of a key's schema, or `undefined` when the schema is not one a configuration key may
 * use (nested objects, floats, unions...). Numbers must be integers (`.int()`).
 */
export function fieldKind(schema: z.ZodTypeAny): FieldKind | undefined {
  const s = unwrap(schema);
  if (s instanceof z.ZodNumber) return s.isInt ? { type: "integer" } : undefined;
  if (s instanceof z.ZodBoolean) return { type: "boolean" };
  if (s instanceof z.ZodString) return { type: "string" };
  if (s instanceof z.ZodEnum) return { type: "enum", values: s.options as string[] };
  if (s instanceof z.ZodArray && unwrap(s.element) instanceof z.ZodString) return { type: "string-list" };
  return undefined;
}

/** How a kind is named in error messages ("expected integer"). */
export function kindName(kind: FieldKind): string {
  switch (kind.type) {
    case "integer":
      return "integer";
    case "boolean":
      return "boolean (true/false/1/0)";
    case "string":
      return "string";
    case "enum":
      return `one of ${kind.values.join("|")}`;
    case "string-list":
      return "list of strings";
  }
}

/**
 * Coerces a string to `kind`: integers in decimal (`-12`, `7070`), booleans `true`/`false`/`1`/`0`
 * (any case), strings as-is, enums by exact value, string lists comma-separated with items trimmed
 * and empty items dropped (`"a, b,"` is `["a","b"]`, `""` is `[]`). Never throws.
 */
export function coerceString(kind: FieldKind, raw: string): Coerced {
  switch (kind.type) {
    case "integer": {
      const t = raw.trim();
      if (!/^[+-]?\d+$/.test(t)) return { ok: false, expected: kindName(kind) };
      const n = Number(t);
      return Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, expected: "integer within ±2^53" };
    }
    case "boolean": {
      const t = raw.trim().toLowerCase();
      if (t === "true" || t === "1") return { ok: true, value: true };
      if (t === "false" || t === "0") return { ok: true, value: false };
      return { ok: false, expected: kindName(kind) };
    }
    case "string":
      return { ok: true, value: raw };
    case "enum":
      return kind.values.includes(raw) ? { ok: true, value: raw } : { ok: false, expected: kindName(kind) };
    case "string-list":
      return {
        ok: true,
        value: raw
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== ""),
      };
  }
}
