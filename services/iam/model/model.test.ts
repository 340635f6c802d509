import { describe, expect, it } from "bun:test";
import { PhotonError } from "../../../lib/errors.ts";
import { sequentialIds } from "./ids.ts";
import { IamModel } from "./model.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PhotonError) return e.code;
    throw e;
  }
  throw new Error("expected an error");
}

function tenant() {
  const m = new IamModel({ newId: sequentialIds(), recordChanges: true });
  const acme = m.createOrg({ name: "acme" });
  const other = m.createOrg({ name: "other" });
  const web = m.createProject({ org: acme.id, name: "web" });
  const api = m.createProject({ org: acme.id, parent: web.id, name: "api" });
  const alice = m.createUser({ org: acme.id, name: "alice@acme.example" });
  const eve = m.createUser({ org: other.id, name: "eve" });
  m.takeChanges();
  return { m, acme, other, web, api, alice, eve };
}

describe("names", () => {
  it("rejects invalid names with IAM:InvalidName and reserved role names", () => {
    const { m, acme } = tenant();
    for (const name of ["", "Acme", "1acme", "a b", "a".repeat(64), "acme!", undefined]) {
      expect(code(() => m.createOrg({ name: name as string }))).toBe("IAM:InvalidName");
    }
    expect(code(() => m.createUser({ org: acme.id, name: "Bob" }))).toBe("IAM:InvalidName");
    expect(code(() => m.createRole({ org: acme.id, name: "admin", actions: ["*"] }))).toBe("IAM:InvalidName");
    expect(code(() => m.createProject({ org: acme.id, name: "x", displayName: "bad\u0000" }))).toBe("IAM:InvalidArgument");
  });

  it("refuses duplicate names under the same parent only", () => {
    const { m, acme, other, web } = tenant();
    expect(code(() => m.createOrg({ name: "acme" }))).toBe("IAM:AlreadyExists");
    expect(code(() => m.createProject({ org: acme.id, name: "web" }))).toBe("IAM:AlreadyExists");
    expect(m.createProject({ org: acme.id, parent: web.id, name: "web" }).parent).toBe(web.id);
    expect(m.createProject({ org: other.id, name: "web" }).org).toBe(other.id);
    expect(code(() => m.createUser({ org: acme.id, name: "alice@acme.example" }))).toBe("IAM:AlreadyExists");
    m.createUser({ org: other.id, name: "alice@acme.example" });
    m.createGroup({ org: acme.id, name: "ops" });
    expect(code(() => m.createGroup({ org: acme.id, name: "ops" }))).toBe("IAM:AlreadyExists");
    expect(code(() => m.rename("project", m.list("project").find((p) => p.parent === web.id && p.name === "web")!.id, "api"))).toBe("IAM:AlreadyExists");
  });

  it("finds users and organisations by name through the index, following renames and deletes", () => {
    const { m, acme, other, alice, eve } = tenant();
    expect(m.findUser("alice@acme.example", acme.id)?.id).toBe(alice.id);
    expect(m.findUser("alice@acme.example", other.id)).toBeUndefined();
    expect(m.findUser("eve", other.id)?.id).toBe(eve.id);
    expect(m.findUser("eve", undefined)).toBeUndefined();
    expect(m.findOrg("acme")?.id).toBe(acme.id);
    m.rename("user", alice.id, "alice2");
    expect(m.findUser("alice@acme.example", acme.id)).toBeUndefined();
    expect(m.findUser("alice2", acme.id)?.id).toBe(alice.id);
    m.deletePrincipal(alice.id);
    expect(m.findUser("alice2", acme.id)).toBeUndefined();
  });

  it("refuses an identical binding twice", () => {
    const { m, alice, web } = tenant();
    const input = { principal: alice.id, role: "compute.reader", scope: { kind: "project" as const, id: web.id } };
    m.createBinding(input);
    expect(code(() => m.createBinding(input))).toBe("IAM:AlreadyExists");
    m.createBinding({ ...input, condition: { sourceCidrs: ["10.0.0.0/8"] } });
  });
});

describe("project nesting", () => {
  it("refuses moving a project under itself or a descendant", () => {
    const { m, web, api } = tenant();
    const deep = m.createProject({ org: web.org, parent: api.id, name: "deep" });
    expect(code(() => m.moveProject(web.id, web.id))).toBe("IAM:Cycle");
    expect(code(() => m.moveProject(web.id, deep.id))).toBe("IAM:Cycle");
    expect(m.get("project", web.id)!.parent).toBeUndefined();
    expect(m.moveProject(deep.id, undefined).parent).toBeUndefined();
    expect(m.moveProject(deep.id, web.id).parent).toBe(web.id);
  });

  it("keeps nesting inside one organisation", () => {
    const { m, other, web } = tenant();
    expect(code(() => m.createProject({ org: other.id, parent: web.id, name: "x" }))).toBe("IAM:CrossTenant");
    const theirs = m.createProject({ org: other.id, name: "x" });
    expect(code(() => m.moveProject(theirs.id, web.id))).toBe("IAM:CrossTenant");
  });

  it("refuses deleting what is not empty and drops policy on deleted scopes", () => {
    const { m, acme, web, api, alice } = tenant();
    expect(code(() => m.deleteProject(web.id))).toBe("IAM:NotEmpty");
    expect(code(() => m.deleteOrg(acme.id))).toBe("IAM:NotEmpty");
    m.createBinding({ principal: alice.id, role: "reader", scope: { kind: "project", id: api.id } });
    m.deleteProject(api.id);
    expect(m.list("binding")).toHaveLength(0);
    expect(code(() => m.deleteProject(api.id))).toBe("IAM:NotFound");
  });
});

describe("groups", () => {
  it("refuses cycles, directly or through nested groups", () => {
    const { m, acme } = tenant();
    const a = m.createGroup({ org: acme.id, name: "a" });
    const b = m.createGroup({ org: acme.id, name: "b", members: [a.id] });
    const c = m.createGroup({ org: acme.id, name: "c", members: [b.id] });
    expect(code(() => m.addMember(a.id, a.id))).toBe("IAM:Cycle");
    expect(code(() => m.addMember(a.id, c.id))).toBe("IAM:Cycle");
    expect(m.get("group", a.id)!.members).toEqual([]);
    expect(code(() => m.addMember(c.id, b.id))).toBe("IAM:AlreadyExists");
  });

  it("keeps members within the tenant", () => {
    const { m, acme, eve } = tenant();
    const g = m.createGroup({ org: acme.id, name: "ops" });
    expect(code(() => m.addMember(g.id, eve.id))).toBe("IAM:CrossTenant");
    const root = m.createUser({ name: "root" });
    m.addMember(g.id, root.id); // system principals may join
    const sys = m.createGroup({ name: "operators" });
    expect(code(() => m.addMember(sys.id, eve.id))).toBe("IAM:CrossTenant");
    expect(code(() => m.addMember(g.id, "usr_404"))).toBe("IAM:NotFound");
  });

  it("changes nothing when any part of a request is invalid", () => {
    const { m, acme, alice, eve } = tenant();
    expect(code(() => m.createGroup({ org: acme.id, name: "mixed", members: [alice.id, eve.id] }))).toBe("IAM:CrossTenant");
    expect(m.list("group")).toHaveLength(0);
    expect(m.takeChanges()).toEqual([]);
    expect(code(() => m.createBinding({ principal: alice.id, role: "admin", scope: { kind: "project", id: "prj_404" } }))).toBe("IAM:NotFound");
    expect(code(() => m.createDeny({ name: "d", principals: [alice.id], actions: ["compute:vm:get", "bad"], scope: { kind: "org", id: acme.id } }))).toBe("IAM:InvalidAction");
    expect(m.list("binding")).toHaveLength(0);
    expect(m.list("deny")).toHaveLength(0);
  });

  it("removes a deleted principal from groups, bindings and denies", () => {
    const { m, acme, alice } = tenant();
    const g = m.createGroup({ org: acme.id, name: "ops", members: [alice.id] });
    m.createBinding({ principal: alice.id, role: "reader", scope: { kind: "org", id: acme.id } });
    m.createDeny({ name: "d", principals: [alice.id], actions: ["*"], scope: { kind: "org", id: acme.id } });
    m.deletePrincipal(alice.id);
    expect(m.get("group", g.id)!.members).toEqual([]);
    expect(m.list("binding")).toHaveLength(0);
    expect(m.list("deny")).toHaveLength(0);
  });
});

describe("bindings and roles", () => {
  it("refuses principals and roles of another organisation", () => {
    const { m, acme, other, web, eve, alice } = tenant();
    expect(code(() => m.createBinding({ principal: eve.id, role: "admin", scope: { kind: "project", id: web.id } }))).toBe("IAM:CrossTenant");
    expect(code(() => m.createBinding({ principal: alice.id, role: "admin", scope: { kind: "system" } }))).toBe("IAM:CrossTenant");
    const theirRole = m.createRole({ org: other.id, name: "ops", actions: ["compute:*:*"] });
    expect(code(() => m.createBinding({ principal: alice.id, role: theirRole.id, scope: { kind: "org", id: acme.id } }))).toBe("IAM:CrossTenant");
    expect(code(() => m.createDeny({ name: "d", principals: [eve.id], actions: ["*"], scope: { kind: "org", id: acme.id } }))).toBe("IAM:CrossTenant");
    expect(code(() => m.createBinding({ principal: alice.id, role: "rol_404", scope: { kind: "org", id: acme.id } }))).toBe("IAM:NotFound");
    expect(code(() => m.createBinding({ principal: alice.id, role: "admin", scope: { kind: "galaxy" } as never }))).toBe("IAM:InvalidArgument");
  });

  it("refuses deleting a role in use, and validates role actions", () => {
    const { m, acme, alice } = tenant();
    const role = m.createRole({ org: acme.id, name: "ops", actions: ["compute:vm:*", "compute:vm:*"] });
    expect(role.actions).toEqual(["compute:vm:*"]);
    const b = m.createBinding({ principal: alice.id, role: role.id, scope: { kind: "org", id: acme.id } });
    expect(code(() => m.deleteRole(role.id))).toBe("IAM:InUse");
    m.deleteBinding(b.id);
    m.deleteRole(role.id);
    expect(code(() => m.createRole({ org: acme.id, name: "bad", actions: [] }))).toBe("IAM:InvalidArgument");
    expect(code(() => m.createRole({ org: acme.id, name: "bad", actions: ["compute:vm"] }))).toBe("IAM:InvalidAction");
    expect(code(() => m.createBinding({ principal: alice.id, role: "reader", scope: { kind: "org", id: acme.id }, condition: { sourceCidrs: ["x"] } }))).toBe("IAM:InvalidCondition");
  });
});

describe("the model itself", () => {
  it("records applied changes for the store and replays them into another model", () => {
    const { m, acme, alice } = tenant();
    m.createBinding({ principal: alice.id, role: "reader", scope: { kind: "org", id: acme.id } });
    const changes = m.takeChanges();
    expect(changes.map((c) => c.op)).toEqual(["put"]);
    const replica = new IamModel();
    replica.apply(tenant().m.list("org").map((entity) => ({ op: "put" as const, entity })));
    replica.apply(changes);
    expect(replica.list("binding")).toEqual(m.list("binding"));
  });

  it("hands out frozen entities", () => {
    const { m, acme } = tenant();
    const g = m.createGroup({ org: acme.id, name: "ops" });
    expect(() => g.members.push("x")).toThrow();
    expect(() => ((g as { name: string }).name = "x")).toThrow();
  });

  it("leaves disabled principals out of the evaluator's snapshot", () => {
    const { m, alice } = tenant();
    m.setDisabled(alice.id, true);
    expect(m.snapshot().principals.map((p) => p.id)).not.toContain(alice.id);
    m.setDisabled(alice.id, false);
    expect(m.snapshot().principals.map((p) => p.id)).toContain(alice.id);
  });
});
