/** VPC operations. */
import { createVpc, deleteVpc, getVpc, listVpcs, updateVpc, type CreateVpcInput } from "../service-vpc.ts";
import { op, type NovanetOperation } from "./operation.ts";

export const vpcOperations: NovanetOperation[] = [
  op<CreateVpcInput>({ name: "CreateVpc", method: "POST", path: "/v1/vpcs", auth: true, response: "Vpc", summary: "Create a VPC (a VNI is allocated)", fields: { project: "string", name: "string", cidr: "string" }, required: ["cidr"], run: (s, c, i) => createVpc(s, c, i) }),
  op<{ project?: string }>({ name: "ListVpcs", method: "GET", path: "/v1/vpcs", auth: true, response: "VpcList", summary: "The project's VPCs", fields: { project: "string" }, run: (s, c, i) => listVpcs(s, c, i) }),
  op<{ id: string }>({ name: "GetVpc", method: "GET", path: "/v1/vpcs/:id", auth: true, response: "Vpc", summary: "One VPC", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getVpc(s, c, i) }),
  op<{ id: string; name?: string }>({ name: "UpdateVpc", method: "PATCH", path: "/v1/vpcs/:id", auth: true, response: "Vpc", summary: "Rename a VPC", fields: { id: "string", name: "string" }, required: ["id"], run: (s, c, i) => updateVpc(s, c, i) }),
  op<{ id: string }>({ name: "DeleteVpc", method: "DELETE", path: "/v1/vpcs/:id", auth: true, response: "Empty", summary: "Delete a VPC without subnets or router", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteVpc(s, c, i) }),
];
