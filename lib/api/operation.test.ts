import { describe, expect, it } from "bun:test";
import { PhotonError } from "../errors.ts";
import { checkInput, defineOp } from "./operation.ts";

const invalid = (message: string, field?: string) => new PhotonError("TEST:Invalid", message, { grpc: 3, ...(field ? { details: { field } } : {}) });
const o = defineOp<null, string, { name: string }>({
  name: "CreateThing", method: "POST", path: "/v1/things", auth: true, response: "Thing", summary: "",
  fields: { name: "string", count: "integer", on: "boolean", tags: "strings", labels: "map", spec: "object", pools: "objects" }, required: ["name"],
  run: () => ({}),
});

const code = (input: Record<string, unknown>, q?: Set<string>) => {
  try {
    checkInput(o, input, invalid, q);
    return "ok";
  } catch (e) {
    return `${(e as PhotonError).code}:${(e as PhotonError).details?.field}`;
  }
};

describe("checkInput", () => {
  it("defaults the status of creations to 201", () => {
    expect(o.status).toBe(201);
  });

  it("accepts declared fields of the declared types and converts query strings", () => {
    expect(checkInput(o, { name: "a", count: "3", on: "true", tags: "x,y" }, invalid, new Set(["count", "on", "tags"]))).toEqual({ name: "a", count: 3, on: true, tags: ["x", "y"] });
    expect(code({ name: "a", labels: { k: "v" }, spec: { a: 1 }, pools: [{ start: "x" }] })).toBe("ok");
  });

  it("refuses unknown fields, wrong types and missing required fields, naming the field", () => {
    expect(code({ name: "a", bogus: 1 })).toBe("TEST:Invalid:bogus");
    expect(code({ name: 1 })).toBe("TEST:Invalid:name");
    expect(code({ name: "a", count: 1.5 })).toBe("TEST:Invalid:count");
    expect(code({ name: "a", tags: [1] })).toBe("TEST:Invalid:tags");
    expect(code({ name: "a", labels: { k: 1 } })).toBe("TEST:Invalid:labels");
    expect(code({ name: "a", pools: [1] })).toBe("TEST:Invalid:pools");
    expect(code({ name: "a", spec: [] })).toBe("TEST:Invalid:spec");
    expect(code({})).toBe("TEST:Invalid:name");
    expect(code({ name: "" })).toBe("TEST:Invalid:name");
    expect(code({ name: "a", __proto__: { x: 1 } } as Record<string, unknown>)).toBe("ok");
  });
});
