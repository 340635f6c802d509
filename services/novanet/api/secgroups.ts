/** Security group and rule operations. */
import type { RuleSpec } from "../model/validate.ts";
import { createRule, createSecGroup, deleteRule, deleteSecGroup, getSecGroup, listSecGroups, updateSecGroup } from "../service-secgroup.ts";
import { op, type NovanetOperation } from "./operation.ts";

export const secgroupOperations: NovanetOperation[] = [
  op<{ project?: string; name?: string; description?: string }>({ name: "CreateSecurityGroup", method: "POST", path: "/v1/secgroups", auth: true, response: "SecurityGroup", summary: "Create a security group (no rules: nothing allowed)", fields: { project: "string", name: "string", description: "string" }, run: (s, c, i) => createSecGroup(s, c, i) }),
  op<{ project?: string }>({ name: "ListSecurityGroups", method: "GET", path: "/v1/secgroups", auth: true, response: "SecurityGroupList", summary: "The project's security groups", fields: { project: "string" }, run: (s, c, i) => listSecGroups(s, c, i) }),
  op<{ id: string }>({ name: "GetSecurityGroup", method: "GET", path: "/v1/secgroups/:id", auth: true, response: "SecurityGroup", summary: "One security group with its rules", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getSecGroup(s, c, i) }),
  op<{ id: string; name?: string; description?: string }>({ name: "UpdateSecurityGroup", method: "PATCH", path: "/v1/secgroups/:id", auth: true, response: "SecurityGroup", summary: "Rename a security group or change its description", fields: { id: "string", name: "string", description: "string" }, required: ["id"], run: (s, c, i) => updateSecGroup(s, c, i) }),
  op<{ id: string }>({ name: "DeleteSecurityGroup", method: "DELETE", path: "/v1/secgroups/:id", auth: true, response: "Empty", summary: "Delete a security group no port uses", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteSecGroup(s, c, i) }),
  op<RuleSpec & { secgroup: string }>({
    name: "CreateSecurityGroupRule", method: "POST", path: "/v1/secgroups/:secgroup/rules", auth: true, response: "SecurityGroupRule", summary: "Add an allow rule (stateful: replies pass)",
    fields: { secgroup: "string", direction: "string", ethertype: "string", protocol: "string", portMin: "integer", portMax: "integer", icmpType: "integer", icmpCode: "integer", remoteCidr: "string", remoteGroup: "string" }, required: ["secgroup", "direction"],
    run: (s, c, i) => createRule(s, c, i),
  }),
  op<{ secgroup: string; id: string }>({ name: "DeleteSecurityGroupRule", method: "DELETE", path: "/v1/secgroups/:secgroup/rules/:id", auth: true, response: "Empty", summary: "Remove a rule", fields: { secgroup: "string", id: "string" }, required: ["secgroup", "id"], run: (s, c, i) => deleteRule(s, c, i) }),
];
