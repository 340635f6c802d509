import { describe, expect, it } from "bun:test";
import { Authorizer } from "../../../lib/authz/authorizer.ts";
import { IamModel } from "./model.ts";
import { incrementalChanges } from "./snapshot.ts";

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

describe("the evaluator updated in place", () => {
  it("decides exactly as a rebuilt one through random binding, principal and membership changes", () => {
    const m = new IamModel({ recordChanges: true });
    const org = m.createOrg({ name: "acme" });
    const projects = [m.createProject({ org: org.id, name: "p0" })];
    for (let i = 1; i < 6; i++) projects.push(m.createProject({ org: org.id, name: `p${i}`, ...(i % 2 ? { parent: projects[i - 1]!.id } : {}) }));
    const users = Array.from({ length: 8 }, (_, i) => m.createUser({ org: org.id, name: `u${i}` }).id);
    const groups = [m.createGroup({ org: org.id, name: "g0", members: users.slice(0, 3) }).id];
    groups.push(m.createGroup({ org: org.id, name: "g1", members: [groups[0]!, users[5]!] }).id);
    m.takeChanges();
    const live = new Authorizer(m.snapshot());
    let seed = 0x9e3779b9;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const roles = ["compute.reader", "compute.member", "compute.admin", "dns.admin", "member"];
    const actions = ["compute:vm:get", "compute:vm:create", "dns:zone:delete", "iam:project:create", "s3:bucket:list"];
    const bindings: string[] = [];
    let inPlace = 0, rebuilt = 0;
    for (let step = 0; step < 300; step++) {
      const r = rand(10);
      if (r < 5 || bindings.length === 0) {
        const principal = rand(4) === 0 ? groups[rand(groups.length)]! : users[rand(users.length)]!;
        const scope = rand(3) === 0 ? { kind: "org" as const, id: org.id } : { kind: "project" as const, id: projects[rand(projects.length)]!.id };
        try {
          bindings.push(m.createBinding({ principal, role: roles[rand(roles.length)]!, scope }).id);
        } catch {
          // an identical binding already exists
        }
      } else if (r < 8) {
        m.deleteBinding(bindings.splice(rand(bindings.length), 1)[0]!);
      } else if (r < 9) {
        users.push(m.createUser({ org: org.id, name: `n${step}` }).id);
      } else {
        m.setDisabled(users[rand(users.length)]!, rand(2) === 0);
      }
      const changes = m.takeChanges();
      const inc = incrementalChanges(changes, m, (p) => live.hasPrincipal(p));
      if (inc && live.applyChanges(inc, step)) inPlace++;
      else {
        live.update(m.snapshot(step));
        rebuilt++;
      }
      const fresh = new Authorizer(m.snapshot(step));
      for (let q = 0; q < 20; q++) {
        const req = { principal: users[rand(users.length)]!, action: actions[rand(actions.length)]!, resource: { org: org.id, project: projects[rand(projects.length)]!.id } };
        expect(live.authorize(req)).toEqual(fresh.authorize(req));
      }
    }
    expect(inPlace).toBeGreaterThan(200);
    expect(rebuilt).toBeGreaterThan(10);
  });
});
