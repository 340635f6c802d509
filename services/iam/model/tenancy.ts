/**
 * Planners for organisations and projects. Projects nest within one organisation; moving a project
 * under itself or one of its descendants is refused. Deleting refuses while something still lives
 * inside (projects, principals, groups, roles) and drops the bindings and denies on the scope.
 */
import { IamErrors } from "../errors.ts";
import { checkName, checkText } from "./names.ts";
import { checkUnique, dropPolicyOn, type Plan, type PlanContext } from "./plan.ts";
import type { Organisation, Project } from "./types.ts";

/** Input of createOrg. */
export interface CreateOrgInput {
  name: string;
  displayName?: string;
}

/** Input of createProject; `parent` nests it in another project of the same organisation. */
export interface CreateProjectInput {
  org: string;
  parent?: string;
  name: string;
  displayName?: string;
}

/**
 * Plans a new organisation.
 * @throws IAM:InvalidName, IAM:InvalidArgument, IAM:AlreadyExists.
 */
export function planCreateOrg(ctx: PlanContext, input: CreateOrgInput): Plan<Organisation> {
  const org: Organisation = { kind: "org", id: ctx.newId("org"), name: checkName(input?.name, "organisation") };
  const displayName = checkText(input.displayName, "displayName");
  if (displayName !== undefined) org.displayName = displayName;
  checkUnique(ctx.state, org);
  return { value: org, changes: [{ op: "put", entity: org }] };
}

/**
 * Plans a new project.
 * @throws IAM:InvalidName, IAM:NotFound (org or parent), IAM:CrossTenant (parent in another
 *   organisation), IAM:AlreadyExists (same name under the same parent).
 */
export function planCreateProject(ctx: PlanContext, input: CreateProjectInput): Plan<Project> {
  const name = checkName(input?.name, "project");
  const displayName = checkText(input.displayName, "displayName");
  const org = ctx.state.require("org", input.org);
  const project: Project = { kind: "project", id: ctx.newId("project"), org: org.id, name };
  if (input.parent !== undefined) {
    const parent = ctx.state.require("project", input.parent);
    if (parent.org !== org.id) {
      throw IamErrors.CrossTenant(`parent project ${parent.id} is in organisation ${parent.org}, not ${org.id}`, { details: { field: "parent" } });
    }
    project.parent = parent.id;
  }
  if (displayName !== undefined) project.displayName = displayName;
  checkUnique(ctx.state, project);
  return { value: project, changes: [{ op: "put", entity: project }] };
}

/** Whether `ancestor` is `id` or one of its ancestors. */
function isAncestorOrSelf(ctx: PlanContext, ancestor: string, id: string): boolean {
  for (let p: string | undefined = id, hops = 0; p !== undefined; hops++) {
    if (p === ancestor) return true;
    if (hops > ctx.state.count("project")) break; // corrupt state; the caller refuses
    p = ctx.state.get("project", p)?.parent;
  }
  return false;
}

/**
 * Plans moving a project under `parent` (undefined: to the top of its organisation).
 * @throws IAM:NotFound, IAM:CrossTenant, IAM:Cycle (under itself or a descendant),
 *   IAM:AlreadyExists (a sibling has its name).
 */
export function planMoveProject(ctx: PlanContext, id: string, parent: string | undefined): Plan<Project> {
  const project = ctx.state.require("project", id);
  const moved: Project = { ...project };
  delete moved.parent;
  if (parent !== undefined) {
    const p = ctx.state.require("project", parent);
    if (p.org !== project.org) throw IamErrors.CrossTenant(`project ${p.id} is in another organisation`, { details: { field: "parent" } });
    if (isAncestorOrSelf(ctx, project.id, p.id)) {
      throw IamErrors.Cycle(`cannot move project ${project.id} under ${p.id}: ${p.id} is inside it`, { details: { field: "parent" } });
    }
    moved.parent = p.id;
  }
  checkUnique(ctx.state, moved);
  return { value: moved, changes: [{ op: "put", entity: moved }] };
}

/**
 * Plans deleting an organisation and the bindings and denies on it.
 * @throws IAM:NotFound; IAM:NotEmpty while it has projects, users, groups or roles.
 */
export function planDeleteOrg(ctx: PlanContext, id: string): Plan<void> {
  const org = ctx.state.require("org", id);
  for (const kind of ["project", "user", "group", "role"] as const) {
    for (const e of ctx.state.all(kind)) {
      if ((e as { org?: string }).org === org.id) {
        throw IamErrors.NotEmpty(`organisation ${org.id} still has ${kind} ${e.id}; delete it first`, { details: { kind, id: e.id } });
      }
    }
  }
  return { value: undefined, changes: [...dropPolicyOn(ctx.state, { kind: "org", id }), { op: "delete", kind: "org", id }] };
}

/**
 * Plans deleting a project and the bindings and denies on it.
 * @throws IAM:NotFound; IAM:NotEmpty while it has sub-projects or service accounts.
 */
export function planDeleteProject(ctx: PlanContext, id: string): Plan<void> {
  const project = ctx.state.require("project", id);
  for (const p of ctx.state.all("project")) {
    if (p.parent === id) throw IamErrors.NotEmpty(`project ${id} still has sub-project ${p.id}`, { details: { kind: "project", id: p.id } });
  }
  for (const sa of ctx.state.all("serviceaccount")) {
    if (sa.project === id) throw IamErrors.NotEmpty(`project ${id} still has service account ${sa.id}`, { details: { kind: "serviceaccount", id: sa.id } });
  }
  return { value: undefined, changes: [...dropPolicyOn(ctx.state, { kind: "project", id: project.id }), { op: "delete", kind: "project", id }] };
}
