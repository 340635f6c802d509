import { describe, expect, it } from "bun:test";
import { FailureAuditThrottle } from "./audit-throttle.ts";

describe("FailureAuditThrottle", () => {
  it("admits a few records per source per window and reports how many it left out", () => {
    const t = new FailureAuditThrottle({ perSource: 3, total: 100, windowMs: 1000 });
    const got = Array.from({ length: 10 }, () => t.admit("10.0.0.1", 0));
    expect(got).toEqual([0, 0, 0, undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(t.admit("10.0.0.2", 10)).toBe(0); // other sources keep their own budget
    expect(t.admit("10.0.0.1", 1000)).toBe(7); // next window: the first record notes the 7 left out
    expect(t.admit("10.0.0.1", 1001)).toBe(0);
  });

  it("caps all sources together, so a flood from many addresses stays bounded", () => {
    const t = new FailureAuditThrottle({ perSource: 5, total: 50, windowMs: 1000, maxSources: 100 });
    let written = 0;
    for (let i = 0; i < 10_000; i++) if (t.admit(`10.0.${i >> 8}.${i & 255}`, 5) !== undefined) written++;
    expect(written).toBe(50);
  });
});
