/** Floating IP operations. */
import { createFip, deleteFip, getFip, listFips, updateFip } from "../service-router.ts";
import { op, type NovanetOperation } from "./operation.ts";

export const fipOperations: NovanetOperation[] = [
  op<{ project?: string; name?: string; port?: string }>({ name: "CreateFloatingIp", method: "POST", path: "/v1/fips", auth: true, response: "FloatingIp", summary: "Allocate a floating IP, optionally on a port", fields: { project: "string", name: "string", port: "string" }, run: (s, c, i) => createFip(s, c, i) }),
  op<{ project?: string }>({ name: "ListFloatingIps", method: "GET", path: "/v1/fips", auth: true, response: "FloatingIpList", summary: "The project's floating IPs", fields: { project: "string" }, run: (s, c, i) => listFips(s, c, i) }),
  op<{ id: string }>({ name: "GetFloatingIp", method: "GET", path: "/v1/fips/:id", auth: true, response: "FloatingIp", summary: "One floating IP", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getFip(s, c, i) }),
  op<{ id: string; name?: string; port?: string }>({ name: "UpdateFloatingIp", method: "PATCH", path: "/v1/fips/:id", auth: true, response: "FloatingIp", summary: "Associate (port) or dissociate (port \"\") a floating IP", fields: { id: "string", name: "string", port: "string" }, required: ["id"], run: (s, c, i) => updateFip(s, c, i) }),
  op<{ id: string }>({ name: "DeleteFloatingIp", method: "DELETE", path: "/v1/fips/:id", auth: true, response: "Empty", summary: "Release a floating IP", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteFip(s, c, i) }),
];
