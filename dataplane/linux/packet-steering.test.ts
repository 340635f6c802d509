import { describe, expect, it } from "bun:test";
import { cpuListToMask } from "./packet-steering.ts";

describe("cpuListToMask", () => {
  it("turns CPU lists into rps_cpus bitmaps", () => {
    expect(cpuListToMask("0", 2)).toBe("1");
    expect(cpuListToMask("1", 2)).toBe("2");
    expect(cpuListToMask("0-3", 4)).toBe("f");
    expect(cpuListToMask("1-2,4", 8)).toBe("16");
    expect(cpuListToMask(" 31 ", 32)).toBe("80000000");
    expect(cpuListToMask("1,33", 64)).toBe("2,00000002");
  });

  it("refuses malformed lists and CPUs the host lacks", () => {
    expect(() => cpuListToMask("a", 2)).toThrow(/not a CPU/);
    expect(() => cpuListToMask("1,", 2)).toThrow(/not a CPU/);
    expect(() => cpuListToMask("3-1", 4)).toThrow(/backwards/);
    expect(() => cpuListToMask("2", 2)).toThrow(/CPU 2 does not exist/);
  });
});
