/**
 * The synthetic iam model of the authorisation benchmark: 20 organisations of 25 projects (five
 * chains five deep), 10 000 users, 1 000 groups nested up to 3 deep, 40 custom roles, 10 000 bindings
 * (a tenth with conditions) and 100 deny policies; plus a deterministic mix of requests (most on
 * the principal's own organisation, some across tenants; allows, denies and no-grants).
 */
import type { AuthorizeRequest } from "../../lib/authz/types.ts";
import { IamModel } from "../../services/iam/model/model.ts";
import { sequentialIds } from "../../services/iam/model/ids.ts";

/** Sizes of the model. */
export const SIZES = { orgs: 20, projectsPerOrg: 25, users: 10_000, groups: 1_000, bindings: 10_000, denies: 100, roles: 40 };

const SERVICES = ["compute", "dns", "s3", "lb", "net", "k8s", "db", "metrics"];
const RESOURCES = ["vm", "volume", "zone", "bucket", "listener", "subnet", "cluster", "table"];
const VERBS = ["get", "list", "create", "update", "delete", "start", "stop"];

/** A small deterministic PRNG (mulberry32) so every run builds the same model. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The model and a request mix over it. */
export function buildWorkload(requestCount = 100_000): { model: IamModel; requests: AuthorizeRequest[] } {
  const r = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const m = new IamModel({ newId: sequentialIds() });
  const orgs = Array.from({ length: SIZES.orgs }, (_, i) => m.createOrg({ name: `org-${i}` }));
  const projectsOf = new Map<string, string[]>();
  for (const o of orgs) {
    const ids: string[] = [];
    for (let i = 0; i < SIZES.projectsPerOrg; i++) {
      const parent = i >= 5 ? ids[i - 5] : undefined; // five chains, five deep
      ids.push(m.createProject({ org: o.id, name: `p-${i}`, ...(parent ? { parent } : {}) }).id);
    }
    projectsOf.set(o.id, ids);
  }
  const usersOf = new Map<string, string[]>();
  const userOrg = new Map<string, string>();
  for (let i = 0; i < SIZES.users; i++) {
    const o = orgs[i % orgs.length]!;
    const u = m.createUser({ org: o.id, name: `user-${i}` });
    (usersOf.get(o.id) ?? usersOf.set(o.id, []).get(o.id)!).push(u.id);
    userOrg.set(u.id, o.id);
  }
  const groupsOf = new Map<string, string[]>();
  for (let i = 0; i < SIZES.groups; i++) {
    const o = orgs[i % orgs.length]!;
    const members = new Set<string>();
    for (let k = 0; k < 15; k++) members.add(pick(usersOf.get(o.id)!));
    const own = groupsOf.get(o.id) ?? groupsOf.set(o.id, []).get(o.id)!;
    // Nest: every group after the first ten of its org contains an earlier one (depth up to ~3).
    if (own.length >= 10 && r() < 0.5) members.add(own[Math.floor(r() * own.length)]!);
    own.push(m.createGroup({ org: o.id, name: `group-${i}`, members: [...members] }).id);
  }
  const roles = Array.from({ length: SIZES.roles }, (_, i) => {
    const actions = Array.from({ length: 6 }, () => `${pick(SERVICES)}:${r() < 0.3 ? "*" : pick(RESOURCES)}:${r() < 0.2 ? "*" : pick(VERBS)}`);
    return m.createRole({ name: `role-${i}`, actions }).id;
  });
  const builtins = ["reader", "member", ...SERVICES.flatMap((s) => [`${s}.admin`, `${s}.member`, `${s}.reader`])];
  let made = 0;
  while (made < SIZES.bindings) {
    const o = pick(orgs).id;
    const principal = r() < 0.6 ? pick(usersOf.get(o)!) : pick(groupsOf.get(o)!);
    const scope = r() < 0.15 ? { kind: "org" as const, id: o } : { kind: "project" as const, id: pick(projectsOf.get(o)!) };
    const role = r() < 0.5 ? pick(roles) : pick(builtins);
    const condition = r() < 0.1 ? (r() < 0.5 ? { sourceCidrs: ["10.0.0.0/8", "192.168.0.0/16"] } : { resourceTags: { env: "prod" } }) : undefined;
    try {
      m.createBinding({ principal, role, scope, ...(condition ? { condition } : {}) });
      made++;
    } catch {
      // an identical binding already exists; draw again
    }
  }
  for (let i = 0; i < SIZES.denies; i++) {
    const o = pick(orgs).id;
    m.createDeny({
      name: `deny-${i}`,
      principals: [r() < 0.2 ? "*" : pick(groupsOf.get(o)!)],
      actions: [`${pick(SERVICES)}:*:delete`],
      scope: r() < 0.3 ? { kind: "org", id: o } : { kind: "project", id: pick(projectsOf.get(o)!) },
    });
  }
  const requests: AuthorizeRequest[] = [];
  for (let i = 0; i < requestCount; i++) {
    const u = pick(usersOf.get(pick(orgs).id)!);
    const own = userOrg.get(u)!;
    const o = r() < 0.9 ? own : pick(orgs).id;
    requests.push({
      principal: u,
      action: `${pick(SERVICES)}:${pick(RESOURCES)}:${pick(VERBS)}`,
      resource: { org: o, project: pick(projectsOf.get(o)!), type: "vm", id: `vm-${i}`, tags: r() < 0.5 ? { env: "prod" } : { env: "dev" } },
      context: { sourceIp: r() < 0.5 ? "10.1.2.3" : "203.0.113.7", time: 1_767_225_600_000 },
    });
  }
  return { model: m, requests };
}
