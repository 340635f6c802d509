/** Router operations. */
import { createRouter, deleteRouter, getRouter, listRouters, updateRouter, type CreateRouterInput } from "../service-router.ts";
import { op, type NovanetOperation } from "./operation.ts";

export const routerOperations: NovanetOperation[] = [
  op<CreateRouterInput>({ name: "CreateRouter", method: "POST", path: "/v1/routers", auth: true, response: "Router", summary: "Create a VPC's router (optionally with an external gateway and SNAT)", fields: { vpc: "string", name: "string", external: "boolean", snat: "boolean", subnets: "strings" }, required: ["vpc"], run: (s, c, i) => createRouter(s, c, i) }),
  op<{ project?: string }>({ name: "ListRouters", method: "GET", path: "/v1/routers", auth: true, response: "RouterList", summary: "The project's routers", fields: { project: "string" }, run: (s, c, i) => listRouters(s, c, i) }),
  op<{ id: string }>({ name: "GetRouter", method: "GET", path: "/v1/routers/:id", auth: true, response: "Router", summary: "One router", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getRouter(s, c, i) }),
  op<{ id: string; name?: string; addSubnets?: string[]; removeSubnets?: string[] }>({ name: "UpdateRouter", method: "PATCH", path: "/v1/routers/:id", auth: true, response: "Router", summary: "Attach or detach subnets, rename", fields: { id: "string", name: "string", addSubnets: "strings", removeSubnets: "strings" }, required: ["id"], run: (s, c, i) => updateRouter(s, c, i) }),
  op<{ id: string }>({ name: "DeleteRouter", method: "DELETE", path: "/v1/routers/:id", auth: true, response: "Empty", summary: "Delete a router no floating IP uses", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteRouter(s, c, i) }),
];
