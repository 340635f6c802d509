/** Host and quota operations. */
import { getQuota, listHosts, updateQuota } from "../service-host.ts";
import { op, type PlasmavmcOperation } from "./operation.ts";

export const hostOperations: PlasmavmcOperation[] = [
  op<Record<string, never>>({ name: "ListHosts", method: "GET", path: "/v1/hosts", auth: true, response: "HostList", summary: "Hypervisor hosts, liveness and placement (administrators)", fields: {}, run: (s, c) => listHosts(s, c) }),
  op<{ project?: string }>({ name: "GetQuota", method: "GET", path: "/v1/quotas", auth: true, response: "Quota", summary: "A project's limits and usage", fields: { project: "string" }, run: (s, c, i) => getQuota(s, c, i) }),
  op<{ project?: string; limits: Record<string, unknown> }>({ name: "UpdateQuota", method: "PATCH", path: "/v1/quotas", auth: true, response: "Quota", summary: "Set some of a project's limits (administrators)", fields: { project: "string", limits: "object" }, required: ["limits"], run: (s, c, i) => updateQuota(s, c, i) }),
];
