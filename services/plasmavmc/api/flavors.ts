/** Flavor operations (create/delete: administrators). */
import { createFlavor, deleteFlavor, getFlavor, listFlavors, type CreateFlavorInput } from "../service-flavor.ts";
import { op, type PlasmavmcOperation } from "./operation.ts";

export const flavorOperations: PlasmavmcOperation[] = [
  op<CreateFlavorInput>({ name: "CreateFlavor", method: "POST", path: "/v1/flavors", auth: true, response: "Flavor", summary: "Create a public flavor (administrators)", fields: { name: "string", vcpus: "integer", memoryMiB: "integer", diskGiB: "integer" }, required: ["name", "vcpus", "memoryMiB"], run: (s, c, i) => createFlavor(s, c, i) }),
  op<Record<string, never>>({ name: "ListFlavors", method: "GET", path: "/v1/flavors", auth: true, response: "FlavorList", summary: "Every flavor", fields: {}, run: (s, c) => listFlavors(s, c) }),
  op<{ id: string }>({ name: "GetFlavor", method: "GET", path: "/v1/flavors/:id", auth: true, response: "Flavor", summary: "One flavor (by id or name)", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getFlavor(s, c, i) }),
  op<{ id: string }>({ name: "DeleteFlavor", method: "DELETE", path: "/v1/flavors/:id", auth: true, response: "Empty", summary: "Delete a flavor no VM uses (administrators)", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteFlavor(s, c, i) }),
];
