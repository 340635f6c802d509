import { describe, expect, it } from "bun:test";
import { compileActionSet, compileRoleActions, normaliseActionPattern, parseAction, splitAction } from "./action.ts";
import { builtinRole, isBuiltinRoleName } from "./builtin-roles.ts";

describe("actions", () => {
  it("parses <service>:<resource>:<verb>", () => {
    expect(parseAction("compute:vm:get")).toEqual(["compute", "vm", "get"]);
    expect(splitAction("k8shost:pod-log:list")).toEqual(["k8shost", "pod-log", "list"]);
  });

  it("refuses malformed actions with a clear error", () => {
    for (const bad of ["", "compute", "compute:vm", "compute:vm:get:x", "Compute:vm:get", "compute:*:get", "1x:vm:get", "a::b"]) {
      expect(() => parseAction(bad)).toThrow(/invalid action/);
      expect(splitAction(bad)).toBeUndefined();
    }
    try {
      parseAction("nope");
    } catch (e) {
      expect((e as { code: string }).code).toBe("IAM:InvalidAction");
    }
  });

  it("normalises patterns and refuses partial wildcards", () => {
    expect(normaliseActionPattern("*")).toBe("*:*:*");
    expect(normaliseActionPattern("compute:*:get")).toBe("compute:*:get");
    expect(() => normaliseActionPattern("compute:vm*:get")).toThrow(/invalid action pattern/);
    expect(() => normaliseActionPattern("compute:*")).toThrow(/invalid action pattern/);
  });
});

describe("action sets", () => {
  it("match exact actions and whole-segment wildcards in any position", () => {
    const set = compileActionSet(["compute:*:get", "dns:zone:*", "*:bucket:list"]);
    expect(set.has("compute:vm:get")).toBe(true);
    expect(set.has("compute:volume:get")).toBe(true);
    expect(set.has("compute:vm:delete")).toBe(false);
    expect(set.has("dns:zone:delete")).toBe(true);
    expect(set.has("dns:record:delete")).toBe(false);
    expect(set.has("s3:bucket:list")).toBe(true);
    expect(set.has("s3:bucket:get")).toBe(false);
  });

  it("treats * as everything and never matches a malformed action", () => {
    const all = compileActionSet(["*"]);
    expect(all.has("anything:at:all")).toBe(true);
    expect(all.has("not-an-action")).toBe(false);
    expect(all.has("compute:vm:get ")).toBe(false);
  });

  it("answers the same from its memo as on first sight", () => {
    const set = compileActionSet(["compute:vm:get"]);
    for (let i = 0; i < 3; i++) {
      expect(set.has("compute:vm:get")).toBe(true);
      expect(set.has("compute:vm:put")).toBe(false);
    }
  });

  it("subtracts notActions from actions", () => {
    const role = compileRoleActions(["compute:*:*"], ["compute:vm:delete"]);
    expect(role.has("compute:vm:create")).toBe(true);
    expect(role.has("compute:vm:delete")).toBe(false);
  });
});

describe("built-in roles", () => {
  const sample = ["compute:vm:get", "compute:vm:list", "compute:vm:create", "compute:vm:start", "compute:quota:update", "iam:binding:create", "iam:binding:get", "iam:accesskey:create", "dns:zone:delete"];

  it("recognises global and per-service names only", () => {
    expect(isBuiltinRoleName("admin")).toBe(true);
    expect(isBuiltinRoleName("compute.reader")).toBe(true);
    expect(isBuiltinRoleName("compute.owner")).toBe(false);
    expect(builtinRole("rol_1")).toBeUndefined();
  });

  it("nests admin ⊃ member ⊃ reader, per service and globally", () => {
    for (const prefix of ["", "compute.", "iam."]) {
      const [admin, member, reader] = (["admin", "member", "reader"] as const).map((l) => {
        const r = builtinRole(prefix + l)!;
        return compileRoleActions(r.actions, r.notActions);
      });
      for (const a of sample) {
        if (reader!.has(a)) expect(member!.has(a)).toBe(true);
        if (member!.has(a)) expect(admin!.has(a)).toBe(true);
      }
    }
  });

  it("keeps readers to read verbs and members away from iam administration", () => {
    const r = builtinRole("compute.reader")!;
    const reader = compileRoleActions(r.actions);
    expect(reader.has("compute:vm:get")).toBe(true);
    expect(reader.has("compute:vm:create")).toBe(false);
    expect(reader.has("dns:zone:get")).toBe(false);
    const m = builtinRole("member")!;
    const member = compileRoleActions(m.actions, m.notActions);
    expect(member.has("compute:vm:start")).toBe(true);
    expect(member.has("iam:binding:get")).toBe(true);
    expect(member.has("iam:binding:create")).toBe(false);
    expect(member.has("iam:accesskey:create")).toBe(true);
    expect(member.has("compute:quota:update")).toBe(false);
  });
});
