/** Organisations and projects. */
import type { CreateOrgInput, CreateProjectInput } from "../model/index.ts";
import { createOrg, createProject, deleteOrg, deleteProject, getOrg, getProject, listOrgs, listProjects, updateOrg, updateProject } from "../service-tenancy.ts";
import { op, type ApiOperation } from "./operation.ts";

export const tenancyOperations: ApiOperation[] = [
  op<CreateOrgInput>({ name: "CreateOrg", method: "POST", path: "/v1/orgs", auth: true, response: "Organisation", summary: "Create an organisation (system administrators)", fields: { name: "string", displayName: "string" }, required: ["name"], run: (s, c, i) => createOrg(s, c, i) }),
  op<Record<string, never>>({ name: "ListOrgs", method: "GET", path: "/v1/orgs", auth: true, response: "OrganisationList", summary: "The organisations the caller may list", fields: {}, run: (s, c) => listOrgs(s, c) }),
  op<{ id: string }>({ name: "GetOrg", method: "GET", path: "/v1/orgs/:id", auth: true, response: "Organisation", summary: "One organisation", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getOrg(s, c, i) }),
  op<{ id: string; name?: string }>({ name: "UpdateOrg", method: "PATCH", path: "/v1/orgs/:id", auth: true, response: "Organisation", summary: "Rename an organisation", fields: { id: "string", name: "string" }, required: ["id"], run: (s, c, i) => updateOrg(s, c, i) }),
  op<{ id: string }>({ name: "DeleteOrg", method: "DELETE", path: "/v1/orgs/:id", auth: true, response: "Empty", summary: "Delete an empty organisation", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteOrg(s, c, i) }),
  op<CreateProjectInput>({ name: "CreateProject", method: "POST", path: "/v1/projects", auth: true, response: "Project", summary: "Create a project in an organisation, optionally under a parent project", fields: { org: "string", parent: "string", name: "string", displayName: "string" }, required: ["org", "name"], run: (s, c, i) => createProject(s, c, i) }),
  op<{ org?: string }>({ name: "ListProjects", method: "GET", path: "/v1/projects", auth: true, response: "ProjectList", summary: "The projects the caller may list", fields: { org: "string" }, run: (s, c, i) => listProjects(s, c, i) }),
  op<{ id: string }>({ name: "GetProject", method: "GET", path: "/v1/projects/:id", auth: true, response: "Project", summary: "One project", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getProject(s, c, i) }),
  op<{ id: string; name?: string; parent?: string }>({ name: "UpdateProject", method: "PATCH", path: "/v1/projects/:id", auth: true, response: "Project", summary: "Rename a project or move it (parent \"\": to the top)", fields: { id: "string", name: "string", parent: "string" }, required: ["id"], run: (s, c, i) => updateProject(s, c, i) }),
  op<{ id: string }>({ name: "DeleteProject", method: "DELETE", path: "/v1/projects/:id", auth: true, response: "Empty", summary: "Delete a project without sub-projects or service accounts", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteProject(s, c, i) }),
];
