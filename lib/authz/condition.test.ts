import { describe, expect, it } from "bun:test";
import { compileCondition, EvalContext } from "./condition.ts";
import type { Condition, RequestContext, ResourceRef } from "./types.ts";

const check = (c: Condition, context?: RequestContext, resource: ResourceRef = {}) => compileCondition(c)(new EvalContext(resource, context));
const at = (iso: string) => Date.parse(iso);

describe("conditions", () => {
  it("holds for a source address inside one of the CIDRs", () => {
    const c = { sourceCidrs: ["10.0.0.0/8", "2001:db8::/32"] };
    expect(check(c, { sourceIp: "10.9.9.9" })).toBe(true);
    expect(check(c, { sourceIp: "2001:db8::7" })).toBe(true);
    expect(check(c, { sourceIp: "192.168.1.1" })).toBe(false);
  });

  it("is unknown without a (well-formed) source address", () => {
    expect(check({ sourceCidrs: ["10.0.0.0/8"] })).toBeUndefined();
    expect(check({ sourceCidrs: ["10.0.0.0/8"] }, { sourceIp: "garbage" })).toBeUndefined();
  });

  it("checks absolute time bounds, daily windows (also across midnight) and days", () => {
    const bounded = { time: { notBefore: "2026-01-01T00:00:00Z", notAfter: "2026-02-01T00:00:00Z" } };
    expect(check(bounded, { time: at("2026-01-15T12:00:00Z") })).toBe(true);
    expect(check(bounded, { time: at("2026-02-01T00:00:00Z") })).toBe(false);
    const office = { time: { daily: { start: "09:00", end: "17:00" }, days: [1, 2, 3, 4, 5] } };
    expect(check(office, { time: at("2026-03-04T10:30:00Z") })).toBe(true); // a Wednesday
    expect(check(office, { time: at("2026-03-04T17:00:00Z") })).toBe(false);
    expect(check(office, { time: new Date("2026-03-07T10:30:00Z") })).toBe(false); // a Saturday
    const night = { time: { daily: { start: "22:00", end: "06:00" } } };
    expect(check(night, { time: at("2026-03-04T23:00:00Z") })).toBe(true);
    expect(check(night, { time: at("2026-03-04T05:59:00Z") })).toBe(true);
    expect(check(night, { time: at("2026-03-04T12:00:00Z") })).toBe(false);
  });

  it("requires every tag, with * for any value", () => {
    const c = { resourceTags: { env: "prod", team: "*" } };
    expect(check(c, {}, { tags: { env: "prod", team: "web", x: "y" } })).toBe(true);
    expect(check(c, {}, { tags: { env: "dev", team: "web" } })).toBe(false);
    expect(check(c, {}, { tags: { env: "prod" } })).toBe(false);
    expect(check(c, {}, {})).toBe(false);
  });

  it("needs every clause to hold", () => {
    const c = { sourceCidrs: ["10.0.0.0/8"], resourceTags: { env: "prod" } };
    expect(check(c, { sourceIp: "10.0.0.1" }, { tags: { env: "prod" } })).toBe(true);
    expect(check(c, { sourceIp: "11.0.0.1" }, { tags: { env: "prod" } })).toBe(false);
    expect(check(c, {}, { tags: { env: "prod" } })).toBeUndefined();
  });

  it("rejects malformed conditions with errors naming the field", () => {
    const bad: unknown[] = [
      {},
      { source: ["10.0.0.0/8"] },
      { sourceCidrs: [] },
      { sourceCidrs: ["10.0.0.0/40"] },
      { time: { daily: { start: "9:00", end: "17:00" } } },
      { time: { daily: { start: "09:00", end: "09:00" } } },
      { time: { days: [7] } },
      { time: { notBefore: "yesterday" } },
      { time: { notBefore: "2026-02-01T00:00:00Z", notAfter: "2026-01-01T00:00:00Z" } },
      { time: { weekly: true } },
      { resourceTags: {} },
      { resourceTags: { "bad key": "x" } },
      { resourceTags: { env: "" } },
    ];
    for (const c of bad) {
      expect(() => compileCondition(c as Condition)).toThrow();
      try {
        compileCondition(c as Condition);
      } catch (e) {
        expect((e as { code: string }).code).toBe("IAM:InvalidCondition");
      }
    }
  });
});
