/** The watch-history checks of scenario.ts on hand-made histories. */
import { describe, expect, it } from "bun:test";
import type { WatchEvent } from "./agent.ts";
import { checkWatches } from "./scenario.ts";

const good: WatchEvent[] = [
  [2, "PUT", "k0", "a"],
  [3, "PUT", "k1", "b"],
  [3, "PUT", "k2", "c"],
  [4, "DELETE", "k0", ""],
];

describe("checkWatches", () => {
  it("accepts identical, ordered, gapless histories holding every acked write", () => {
    const r = checkWatches({ m1: good, m2: [...good] }, [{ key: "k1", value: "b", revision: 3 }]);
    expect(r.problems).toEqual([]);
  });

  it("reports a gap, a repeat, a reordering and a difference between members", () => {
    expect(checkWatches({ m1: [good[0]!, good[3]!] }, []).problems[0]).toContain("gap");
    expect(checkWatches({ m1: [good[0]!, good[1]!, good[1]!] }, []).problems[0]).toContain("twice");
    expect(checkWatches({ m1: [good[1]!, good[0]!] }, []).problems[0]).toContain("after");
    expect(checkWatches({ m1: good, m2: good.slice(0, 3) }, []).problems[0]).toContain("differ");
  });

  it("reports an acknowledged write missing or with another value", () => {
    const r = checkWatches({ m1: good }, [{ key: "k1", value: "x", revision: 3 }, { key: "k9", value: "y", revision: 9 }]);
    expect(r.lost).toHaveLength(2);
  });
});
