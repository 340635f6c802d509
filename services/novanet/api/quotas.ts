/** Quota operations (`novanet:quota:update` is for admins). */
import { getQuota, updateQuota } from "../service-quota.ts";
import { op, type NovanetOperation } from "./operation.ts";

export const quotaOperations: NovanetOperation[] = [
  op<{ project?: string }>({ name: "GetQuota", method: "GET", path: "/v1/quotas", auth: true, response: "Quota", summary: "A project's limits and usage", fields: { project: "string" }, run: (s, c, i) => getQuota(s, c, i) }),
  op<{ project?: string; limits: Record<string, unknown> }>({ name: "UpdateQuota", method: "PATCH", path: "/v1/quotas", auth: true, response: "Quota", summary: "Set some of a project's limits (administrators)", fields: { project: "string", limits: "object" }, required: ["limits"], run: (s, c, i) => updateQuota(s, c, i) }),
];
