/**
 * Organisations and projects. Creating an organisation is a system action; a project is created
 * in its organisation (or under its parent project), so an organisation's administrator may
 * create projects there and a project's administrator sub-projects below it.
 */
import type { CreateOrgInput, CreateProjectInput } from "./model/index.ts";
import type { Organisation, Project } from "./model/types.ts";
import type { IamService } from "./service.ts";
import type { Caller, ItemList } from "./types.ts";

/** Creates an organisation (`iam:org:create` on the system). */
export function createOrg(svc: IamService, caller: Caller, input: CreateOrgInput): Promise<Organisation> {
  return svc.change(caller, "iam:org:create", {}, () => svc.replica.mutate((m) => m.createOrg(input)), (o) => o.id);
}

/** The organisations the caller may list. */
export function listOrgs(svc: IamService, caller: Caller): ItemList<Organisation> {
  return { items: svc.visible(caller, "org", "org") };
}

/** One organisation (`iam:org:get`). */
export async function getOrg(svc: IamService, caller: Caller, input: { id: string }): Promise<Organisation> {
  const o = svc.require("org", input?.id);
  await svc.allow(caller, "iam:org:get", svc.refOf(o), false);
  return o;
}

/** Renames an organisation (`iam:org:update`). */
export function updateOrg(svc: IamService, caller: Caller, input: { id: string; name?: string }): Promise<Organisation> {
  const o = svc.require("org", input?.id);
  return svc.change(caller, "iam:org:update", svc.refOf(o), () =>
    svc.replica.mutate((m) => (input.name === undefined ? m.get("org", o.id)! : (m.rename("org", o.id, input.name) as Organisation))),
  );
}

/** Deletes an empty organisation (`iam:org:delete`). */
export async function deleteOrg(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const o = svc.require("org", input?.id);
  await svc.change(caller, "iam:org:delete", svc.refOf(o), () => svc.replica.mutate((m) => m.deleteOrg(o.id)));
  return {};
}

/** Creates a project (`iam:project:create` in the organisation, or in the parent project). */
export function createProject(svc: IamService, caller: Caller, input: CreateProjectInput): Promise<Project> {
  const org = svc.require("org", input?.org);
  const where = input.parent === undefined ? { org: org.id } : { org: org.id, project: svc.require("project", input.parent).id };
  return svc.change(caller, "iam:project:create", where, () => svc.replica.mutate((m) => m.createProject(input)), (p) => p.id);
}

/** The projects the caller may list, optionally of one organisation. */
export function listProjects(svc: IamService, caller: Caller, input: { org?: string }): ItemList<Project> {
  return { items: svc.visible(caller, "project", "project").filter((p) => input?.org === undefined || p.org === input.org) };
}

/** One project (`iam:project:get`). */
export async function getProject(svc: IamService, caller: Caller, input: { id: string }): Promise<Project> {
  const p = svc.require("project", input?.id);
  await svc.allow(caller, "iam:project:get", svc.refOf(p), false);
  return p;
}

/**
 * Renames and/or moves a project (`iam:project:update` on it; moving also needs
 * `iam:project:create` where it lands). `parent: ""` moves it to the top of its organisation.
 */
export async function updateProject(svc: IamService, caller: Caller, input: { id: string; name?: string; parent?: string }): Promise<Project> {
  const p = svc.require("project", input?.id);
  if (input.parent !== undefined) {
    await svc.allow(caller, "iam:project:create", input.parent === "" ? { org: p.org } : { org: p.org, project: svc.require("project", input.parent).id }, true);
  }
  return svc.change(caller, "iam:project:update", svc.refOf(p), () =>
    svc.replica.mutate((m) => {
      let out = m.get("project", p.id)!;
      if (input.parent !== undefined) out = m.moveProject(p.id, input.parent === "" ? undefined : input.parent);
      if (input.name !== undefined) out = m.rename("project", p.id, input.name) as Project;
      return out;
    }),
  );
}

/** Deletes a project without sub-projects or service accounts (`iam:project:delete`). */
export async function deleteProject(svc: IamService, caller: Caller, input: { id: string }): Promise<Record<string, never>> {
  const p = svc.require("project", input?.id);
  await svc.change(caller, "iam:project:delete", svc.refOf(p), () => svc.replica.mutate((m) => m.deleteProject(p.id)));
  return {};
}
