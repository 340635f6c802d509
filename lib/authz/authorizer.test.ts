import { describe, expect, it } from "bun:test";
import { Authorizer } from "./authorizer.ts";
import type { AuthorizeRequest, AuthzSnapshot } from "./types.ts";

/** org o1: p1 > p2 > p3, and p4; org o2: q1. Groups: g-inner ⊂ g-mid ⊂ g-outer. */
function snapshot(extra: Partial<AuthzSnapshot> = {}): AuthzSnapshot {
  return {
    revision: 7,
    orgs: [{ id: "o1" }, { id: "o2" }],
    projects: [
      { id: "p1", org: "o1" },
      { id: "p2", org: "o1", parent: "p1" },
      { id: "p3", org: "o1", parent: "p2" },
      { id: "p4", org: "o1" },
      { id: "q1", org: "o2" },
    ],
    principals: [{ id: "alice", org: "o1" }, { id: "bob", org: "o1" }, { id: "carol", org: "o2" }, { id: "root" }],
    groups: [
      { id: "g-outer", org: "o1", members: ["g-mid"] },
      { id: "g-mid", org: "o1", members: ["g-inner"] },
      { id: "g-inner", org: "o1", members: ["bob"] },
    ],
    roles: [{ id: "r-vm-ops", name: "vm-ops", actions: ["compute:vm:*"], notActions: ["compute:vm:delete"] }],
    bindings: [
      { id: "b-alice-p1", principal: "alice", role: "compute.reader", scope: { kind: "project", id: "p1" } },
      { id: "b-outer-p2", principal: "g-outer", role: "r-vm-ops", scope: { kind: "project", id: "p2" } },
      { id: "b-root", principal: "root", role: "admin", scope: { kind: "system" } },
      { id: "b-carol", principal: "carol", role: "admin", scope: { kind: "org", id: "o2" } },
    ],
    denies: [],
    ...extra,
  };
}

const req = (principal: string, action: string, project: string | undefined, org = "o1", more: Partial<AuthorizeRequest> = {}): AuthorizeRequest => ({
  principal,
  action,
  resource: project === undefined ? { org } : { org, project, type: "vm", id: "vm-1" },
  ...more,
});

describe("authorize", () => {
  it("inherits a binding down the project tree, never up or sideways", () => {
    const a = new Authorizer(snapshot());
    for (const p of ["p1", "p2", "p3"]) expect(a.authorize(req("alice", "compute:vm:get", p)).allowed).toBe(true);
    expect(a.authorize(req("alice", "compute:vm:get", "p4")).allowed).toBe(false);
    expect(a.authorize(req("alice", "compute:vm:get", undefined)).allowed).toBe(false);
    expect(a.authorize(req("bob", "compute:vm:start", "p3")).allowed).toBe(true);
    expect(a.authorize(req("bob", "compute:vm:start", "p1")).allowed).toBe(false);
  });

  it("names the binding that allowed, or says nothing granted the action", () => {
    const a = new Authorizer(snapshot());
    const yes = a.authorize(req("alice", "compute:vm:list", "p3"));
    expect(yes).toMatchObject({ allowed: true, matched: "b-alice-p1" });
    expect(yes.reason).toContain("compute.reader");
    const no = a.authorize(req("alice", "compute:vm:delete", "p3"));
    expect(no.allowed).toBe(false);
    expect(no.reason).toStartWith("no binding grants compute:vm:delete");
  });

  it("expands nested groups", () => {
    const a = new Authorizer(snapshot());
    expect(a.groupsOf("bob").toSorted()).toEqual(["g-inner", "g-mid", "g-outer"]);
    expect(a.authorize(req("bob", "compute:vm:create", "p2"))).toMatchObject({ allowed: true, matched: "b-outer-p2" });
    expect(a.authorize(req("bob", "compute:vm:delete", "p2")).allowed).toBe(false); // notActions
  });

  it("lets a system binding reach every organisation", () => {
    const a = new Authorizer(snapshot());
    expect(a.authorize(req("root", "dns:zone:delete", "q1", "o2")).allowed).toBe(true);
    expect(a.authorize({ principal: "root", action: "iam:org:create", resource: {} }).allowed).toBe(true);
    expect(a.authorize({ principal: "alice", action: "compute:vm:get", resource: {} }).allowed).toBe(false);
  });

  it("lets an explicit deny beat every allow, on the scope and below", () => {
    const a = new Authorizer(
      snapshot({
        denies: [{ id: "d1", name: "no-vm-delete", principals: ["g-mid"], actions: ["compute:vm:*"], scope: { kind: "project", id: "p2" } }],
        bindings: [...snapshot().bindings, { id: "b-bob-admin", principal: "bob", role: "admin", scope: { kind: "org", id: "o1" } }],
      }),
    );
    const d = a.authorize(req("bob", "compute:vm:get", "p3"));
    expect(d).toMatchObject({ allowed: false, matched: "d1" });
    expect(d.reason).toContain("no-vm-delete");
    expect(a.authorize(req("bob", "compute:vm:get", "p1")).allowed).toBe(true); // above the deny
    expect(a.authorize(req("bob", "dns:zone:get", "p3")).allowed).toBe(true); // other actions
  });

  it("applies a deny on * to everyone except the excepted", () => {
    const a = new Authorizer(
      snapshot({ denies: [{ id: "d2", name: "freeze", principals: ["*"], exceptPrincipals: ["g-inner"], actions: ["*"], scope: { kind: "project", id: "p1" } }] }),
    );
    expect(a.authorize(req("alice", "compute:vm:get", "p1")).matched).toBe("d2");
    expect(a.authorize(req("root", "compute:vm:get", "p2", "o1")).matched).toBe("d2");
    expect(a.authorize(req("bob", "compute:vm:start", "p2")).allowed).toBe(true);
  });

  it("fails closed on conditions: an allow needs them to hold, a deny applies when unknown", () => {
    const a = new Authorizer(
      snapshot({
        bindings: [{ id: "b-vpn", principal: "alice", role: "admin", scope: { kind: "org", id: "o1" }, condition: { sourceCidrs: ["10.0.0.0/8"] } }],
        denies: [{ id: "d-office", name: "office-only", principals: ["bob"], actions: ["*"], scope: { kind: "org", id: "o1" }, condition: { sourceCidrs: ["0.0.0.0/0"] } }],
      }),
    );
    expect(a.authorize(req("alice", "compute:vm:get", "p1", "o1", { context: { sourceIp: "10.1.1.1" } })).allowed).toBe(true);
    const outside = a.authorize(req("alice", "compute:vm:get", "p1", "o1", { context: { sourceIp: "8.8.8.8" } }));
    expect(outside.allowed).toBe(false);
    expect(outside.reason).toContain("b-vpn matches but its condition does not hold");
    expect(a.authorize(req("alice", "compute:vm:get", "p1")).allowed).toBe(false);
    expect(a.authorize(req("bob", "compute:vm:get", "p1")).matched).toBe("d-office");
  });

  it("never lets a memoised decision hide a condition: the same question answers per request", () => {
    const a = new Authorizer(
      snapshot({
        bindings: [
          { id: "b-vpn", principal: "alice", role: "admin", scope: { kind: "org", id: "o1" }, condition: { sourceCidrs: ["10.0.0.0/8"] } },
          { id: "b-bob", principal: "bob", role: "admin", scope: { kind: "org", id: "o1" } },
        ],
        denies: [{ id: "d-prod", name: "prod", principals: ["bob"], actions: ["*"], scope: { kind: "org", id: "o1" }, condition: { resourceTags: { env: "prod" } } }],
      }),
    );
    const from = (ip: string) => req("alice", "compute:vm:get", "p1", "o1", { context: { sourceIp: ip } });
    const tagged = (env: string) => ({ principal: "bob", action: "compute:vm:get", resource: { org: "o1", project: "p1", tags: { env } } });
    for (let i = 0; i < 3; i++) {
      expect(a.authorize(from("10.0.0.1")).allowed).toBe(true);
      expect(a.authorize(from("8.8.8.8")).allowed).toBe(false);
      expect(a.authorize(tagged("dev")).allowed).toBe(true);
      expect(a.authorize(tagged("prod")).matched).toBe("d-prod");
    }
    // Unconditional answers are memoised and stay right.
    for (let i = 0; i < 3; i++) expect(a.authorize(req("bob", "dns:zone:get", "q1", "o2")).allowed).toBe(false);
  });

  it("limits a session to its project and its access rules", () => {
    const a = new Authorizer(snapshot());
    const session = { project: "p2", accessRules: ["compute:vm:get", "compute:vm:list"] };
    expect(a.authorize(req("alice", "compute:vm:get", "p3", "o1", { session })).allowed).toBe(true);
    expect(a.authorize(req("alice", "compute:vm:get", "p1", "o1", { session })).reason).toContain("scoped to project p2");
    expect(a.authorize(req("bob", "compute:vm:start", "p2", "o1", { session })).reason).toContain("access rules do not allow");
  });

  it("denies unknown principals, unknown scopes, mismatched organisations and malformed requests", () => {
    const a = new Authorizer(snapshot());
    expect(a.authorize(req("mallory", "compute:vm:get", "p1")).reason).toBe("unknown principal mallory");
    expect(a.authorize(req("alice", "compute:vm:get", "nope")).reason).toBe("unknown project nope");
    expect(a.authorize(req("alice", "compute:vm:get", "p1", "o2")).reason).toBe("project p1 is not in organisation o2");
    expect(a.authorize(req("alice", "compute:vm:get", undefined, "o9")).reason).toBe("unknown organisation o9");
    expect(a.authorize(req("alice", "compute:*:get", "p1")).reason).toContain("malformed action");
    expect(a.authorize(null as unknown as AuthorizeRequest).allowed).toBe(false);
  });

  it("refuses inconsistent snapshots and keeps the previous index", () => {
    const bad: Partial<AuthzSnapshot>[] = [
      { groups: [{ id: "ga", org: "o1", members: ["gb"] }, { id: "gb", org: "o1", members: ["ga"] }] },
      { projects: [{ id: "x", org: "o1", parent: "y" }, { id: "y", org: "o1", parent: "x" }] },
      { projects: [{ id: "x", org: "o9" }] },
      { bindings: [{ id: "b", principal: "ghost", role: "admin", scope: { kind: "system" } }] },
      { bindings: [{ id: "b", principal: "alice", role: "no-such-role", scope: { kind: "system" } }] },
      { bindings: [{ id: "b", principal: "alice", role: "admin", scope: { kind: "project", id: "nope" } }] },
      { denies: [{ id: "d", name: "d", principals: [], actions: ["*"], scope: { kind: "system" } }] },
    ];
    const a = new Authorizer(snapshot());
    for (const extra of bad) {
      expect(() => a.update(snapshot(extra))).toThrow();
      try {
        a.update(snapshot(extra));
      } catch (e) {
        expect((e as { code: string }).code).toBe("IAM:InvalidSnapshot");
      }
    }
    expect(a.revision).toBe(7);
    expect(a.authorize(req("alice", "compute:vm:get", "p1")).allowed).toBe(true);
  });
});
