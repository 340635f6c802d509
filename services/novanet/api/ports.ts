/** Port operations. */
import { createPort, deletePort, getPort, listPorts, updatePort, type CreatePortInput, type UpdatePortInput } from "../service-port.ts";
import { op, type NovanetOperation } from "./operation.ts";

export const portOperations: NovanetOperation[] = [
  op<CreatePortInput>({
    name: "CreatePort", method: "POST", path: "/v1/ports", auth: true, response: "Port", summary: "Create a port on a subnet (fixed IPs allocated unless given)",
    fields: { subnet: "string", name: "string", mac: "string", fixedIps: "strings", securityGroups: "strings", portSecurity: "boolean", host: "string", netns: "string", deviceOwner: "string" }, required: ["subnet"],
    run: (s, c, i) => createPort(s, c, i),
  }),
  op<{ project?: string; subnet?: string; vpc?: string; host?: string }>({ name: "ListPorts", method: "GET", path: "/v1/ports", auth: true, response: "PortList", summary: "The project's ports (filters: vpc, subnet, host)", fields: { project: "string", vpc: "string", subnet: "string", host: "string" }, run: (s, c, i) => listPorts(s, c, i) }),
  op<{ id: string }>({ name: "GetPort", method: "GET", path: "/v1/ports/:id", auth: true, response: "Port", summary: "One port", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getPort(s, c, i) }),
  op<UpdatePortInput>({ name: "UpdatePort", method: "PATCH", path: "/v1/ports/:id", auth: true, response: "Port", summary: "Change a port's name, security groups or host binding", fields: { id: "string", name: "string", securityGroups: "strings", host: "string", netns: "string", deviceOwner: "string" }, required: ["id"], run: (s, c, i) => updatePort(s, c, i) }),
  op<{ id: string }>({ name: "DeletePort", method: "DELETE", path: "/v1/ports/:id", auth: true, response: "Empty", summary: "Delete a port (its addresses are freed)", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deletePort(s, c, i) }),
];
