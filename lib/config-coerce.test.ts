import { describe, expect, it } from "bun:test";
import { z } from "zod";
import { coerceString, fieldKind } from "./config-coerce.ts";

describe("fieldKind", () => {
  it("sees through defaults and optionals", () => {
    expect(fieldKind(z.number().int().default(3))).toEqual({ type: "integer" });
    expect(fieldKind(z.boolean().optional())).toEqual({ type: "boolean" });
    expect(fieldKind(z.string().min(1).default("x"))).toEqual({ type: "string" });
    expect(fieldKind(z.enum(["a", "b"]).default("a"))).toEqual({ type: "enum", values: ["a", "b"] });
    expect(fieldKind(z.array(z.string()).default([]))).toEqual({ type: "string-list" });
  });

  it("refuses kinds a configuration key may not have", () => {
    expect(fieldKind(z.number())).toBeUndefined();
    expect(fieldKind(z.object({ a: z.string() }))).toBeUndefined();
    expect(fieldKind(z.array(z.number().int()))).toBeUndefined();
  });
});

describe("coerceString", () => {
  it("parses decimal integers and nothing else", () => {
    expect(coerceString({ type: "integer" }, "7070")).toEqual({ ok: true, value: 7070 });
    expect(coerceString({ type: "integer" }, "-3")).toEqual({ ok: true, value: -3 });
    expect(coerceString({ type: "integer" }, "1.5")).toEqual({ ok: false, expected: "integer" });
    expect(coerceString({ type: "integer" }, "0x10")).toEqual({ ok: false, expected: "integer" });
    expect(coerceString({ type: "integer" }, "")).toEqual({ ok: false, expected: "integer" });
    expect(coerceString({ type: "integer" }, "99999999999999999999").ok).toBe(false);
  });

  it("parses booleans as true/false/1/0 in any case", () => {
    for (const t of ["true", "TRUE", "1"]) expect(coerceString({ type: "boolean" }, t)).toEqual({ ok: true, value: true });
    for (const f of ["false", "False", "0"]) expect(coerceString({ type: "boolean" }, f)).toEqual({ ok: true, value: false });
    expect(coerceString({ type: "boolean" }, "yes").ok).toBe(false);
  });

  it("keeps strings as they are", () => {
    expect(coerceString({ type: "string" }, " a b ")).toEqual({ ok: true, value: " a b " });
  });

  it("accepts only the listed values of an enum", () => {
    const kind = { type: "enum", values: ["lz4", "zstd"] } as const;
    expect(coerceString(kind, "zstd")).toEqual({ ok: true, value: "zstd" });
    expect(coerceString(kind, "gzip")).toEqual({ ok: false, expected: "one of lz4|zstd" });
  });

  it("splits string lists on commas, trimming and dropping empty items", () => {
    expect(coerceString({ type: "string-list" }, "a, b,,c ")).toEqual({ ok: true, value: ["a", "b", "c"] });
    expect(coerceString({ type: "string-list" }, "")).toEqual({ ok: true, value: [] });
  });
});
