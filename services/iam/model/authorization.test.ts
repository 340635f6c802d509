import { describe, expect, it } from "bun:test";
import { Authorizer } from "../../../lib/authz/authorizer.ts";
import { IamModel } from "./model.ts";

function setup() {
  const m = new IamModel();
  const org = m.createOrg({ name: "acme" });
  const web = m.createProject({ org: org.id, name: "web" });
  const api = m.createProject({ org: org.id, parent: web.id, name: "api" });
  const db = m.createProject({ org: org.id, name: "db" });
  const alice = m.createUser({ org: org.id, name: "alice" });
  const team = m.createGroup({ org: org.id, name: "team" });
  const devs = m.createGroup({ org: org.id, name: "devs", members: [team.id] });
  const at = (project: string) => ({ org: org.id, project, type: "vm", id: "vm-1" });
  const can = (action: string, project: string, extra: object = {}) =>
    new Authorizer(m.snapshot()).authorize({ principal: alice.id, action, resource: { ...at(project), ...extra } }).allowed;
  return { m, org, web, api, db, alice, team, devs, can };
}

describe("model and evaluator together", () => {
  it("inherits a role down the tree and follows a project when it moves", () => {
    const { m, web, api, db, alice, can } = setup();
    m.createBinding({ principal: alice.id, role: "compute.member", scope: { kind: "project", id: web.id } });
    expect(can("compute:vm:start", api.id)).toBe(true);
    expect(can("compute:vm:start", db.id)).toBe(false);
    m.moveProject(db.id, web.id);
    expect(can("compute:vm:start", db.id)).toBe(true);
    m.moveProject(api.id, undefined);
    expect(can("compute:vm:start", api.id)).toBe(false);
  });

  it("grants through nested groups and stops when membership ends", () => {
    const { m, org, alice, team, devs, web, can } = setup();
    m.createBinding({ principal: devs.id, role: "compute.admin", scope: { kind: "org", id: org.id } });
    expect(can("compute:vm:delete", web.id)).toBe(false);
    m.addMember(team.id, alice.id);
    expect(can("compute:vm:delete", web.id)).toBe(true);
    m.removeMember(devs.id, team.id);
    expect(can("compute:vm:delete", web.id)).toBe(false);
  });

  it("lets a deny beat an admin binding, and custom role changes apply", () => {
    const { m, org, web, api, alice, can } = setup();
    const role = m.createRole({ org: org.id, name: "vm-reader", actions: ["compute:vm:get"] });
    m.createBinding({ principal: alice.id, role: role.id, scope: { kind: "org", id: org.id } });
    expect(can("compute:vm:list", web.id)).toBe(false);
    m.updateRole(role.id, { actions: ["compute:vm:get", "compute:*:list"] });
    expect(can("compute:vm:list", web.id)).toBe(true);
    m.createBinding({ principal: alice.id, role: "admin", scope: { kind: "org", id: org.id } });
    m.createDeny({ name: "protect-prod", principals: ["*"], actions: ["compute:vm:delete"], scope: { kind: "project", id: web.id }, condition: { resourceTags: { env: "prod" } } });
    expect(can("compute:vm:delete", api.id, { tags: { env: "prod" } })).toBe(false);
    expect(can("compute:vm:delete", api.id, { tags: { env: "dev" } })).toBe(true);
  });

  it("denies everything to a disabled user", () => {
    const { m, org, web, alice, can } = setup();
    m.createBinding({ principal: alice.id, role: "admin", scope: { kind: "org", id: org.id } });
    m.setDisabled(alice.id, true);
    expect(can("compute:vm:get", web.id)).toBe(false);
  });
});
