/** Subnet operations. */
import { createSubnet, deleteSubnet, getSubnet, listSubnets, updateSubnet, type CreateSubnetInput } from "../service-subnet.ts";
import { op, type NovanetOperation } from "./operation.ts";

export const subnetOperations: NovanetOperation[] = [
  op<CreateSubnetInput>({
    name: "CreateSubnet", method: "POST", path: "/v1/subnets", auth: true, response: "Subnet", summary: "Create a subnet inside a VPC",
    fields: { vpc: "string", name: "string", cidr: "string", gatewayIp: "string", dhcp: "boolean", dnsServers: "strings", allocationPools: "objects" }, required: ["vpc", "cidr"],
    run: (s, c, i) => createSubnet(s, c, i),
  }),
  op<{ project?: string; vpc?: string }>({ name: "ListSubnets", method: "GET", path: "/v1/subnets", auth: true, response: "SubnetList", summary: "The project's subnets (of one VPC with vpc)", fields: { project: "string", vpc: "string" }, run: (s, c, i) => listSubnets(s, c, i) }),
  op<{ id: string }>({ name: "GetSubnet", method: "GET", path: "/v1/subnets/:id", auth: true, response: "Subnet", summary: "One subnet", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getSubnet(s, c, i) }),
  op<{ id: string; name?: string; dnsServers?: string[] }>({ name: "UpdateSubnet", method: "PATCH", path: "/v1/subnets/:id", auth: true, response: "Subnet", summary: "Rename a subnet or change its DNS servers", fields: { id: "string", name: "string", dnsServers: "strings" }, required: ["id"], run: (s, c, i) => updateSubnet(s, c, i) }),
  op<{ id: string }>({ name: "DeleteSubnet", method: "DELETE", path: "/v1/subnets/:id", auth: true, response: "Empty", summary: "Delete a subnet without ports", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteSubnet(s, c, i) }),
];
