import { describe, expect, it } from "bun:test";
import type { z } from "zod";
import { fieldKind } from "./config-coerce.ts";
import { configSchema, configSections } from "./config-schema.ts";

describe("config schema", () => {
  it("gives every key a kind that an environment variable and a flag can set", () => {
    for (const [section, schema] of Object.entries(configSections)) {
      for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodTypeAny>)) {
        expect({ key: `${section}.${key}`, kind: fieldKind(field) }).toEqual({ key: `${section}.${key}`, kind: expect.anything() });
      }
    }
  });

  it("names sections and keys in snake_case", () => {
    for (const [section, schema] of Object.entries(configSections)) {
      expect(section).toMatch(/^[a-z][a-z0-9_]*$/);
      for (const key of Object.keys(schema.shape)) expect(key).toMatch(/^[a-z][a-z0-9_]*$/);
    }
  });

  it("accepts an empty document", () => {
    expect(configSchema.safeParse({}).success).toBe(true);
  });

  it("rejects unknown keys and sections", () => {
    expect(configSchema.safeParse({ node: { dta_dir: "x" } }).success).toBe(false);
    expect(configSchema.safeParse({ nodes: {} }).success).toBe(false);
  });
});
