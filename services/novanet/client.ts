/**
 * `NovanetClient`: how the CLI, plasmavmc and tests talk to novanet's REST API. Errors come back
 * as the PhotonErrors the server threw (rebuilt from their `code`, never from messages).
 * @example
 * const nn = new NovanetClient("http://127.0.0.1:7090", token);
 * const vpc = await nn.createVpc({ cidr: "10.0.0.0/16", name: "prod" });
 * const port = await nn.createPort({ subnet: sn.id, host: "hv1" });
 */
import { queryString, requestJson } from "../../lib/api/json-client.ts";
import type { CreatePortInput, UpdatePortInput } from "./service-port.ts";
import type { CreateRouterInput } from "./service-router.ts";
import type { CreateSubnetInput } from "./service-subnet.ts";
import type { CreateVpcInput } from "./service-vpc.ts";
import type { RuleSpec } from "./model/validate.ts";
import type { FloatingIp, ItemList, Port, Quota, Router, SecurityGroup, SecurityGroupRule, Subnet, Vpc } from "./types.ts";


/** A client of one novanet endpoint with an iam access token. */
export class NovanetClient {
  constructor(readonly baseUrl: string, private readonly token?: string, private readonly timeoutMs = 15_000) {}

  /** The same client sending `token`. */
  withToken(token: string): NovanetClient {
    return new NovanetClient(this.baseUrl, token, this.timeoutMs);
  }

  /**
   * Calls `method path` with a JSON body; resolves with the JSON answer.
   * @throws the server's PhotonError, or PHOTON:Unavailable when novanet cannot be reached.
   */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return requestJson<T>({ service: "novanet", baseUrl: this.baseUrl, ...(this.token ? { token: this.token } : {}), timeoutMs: this.timeoutMs }, method, path, body);
  }

  createVpc(i: CreateVpcInput): Promise<Vpc> { return this.request("POST", "/v1/vpcs", i); }
  listVpcs(project?: string): Promise<ItemList<Vpc>> { return this.request("GET", `/v1/vpcs${queryString({ project })}`); }
  getVpc(id: string): Promise<Vpc> { return this.request("GET", `/v1/vpcs/${encodeURIComponent(id)}`); }
  deleteVpc(id: string): Promise<object> { return this.request("DELETE", `/v1/vpcs/${encodeURIComponent(id)}`); }

  createSubnet(i: CreateSubnetInput): Promise<Subnet> { return this.request("POST", "/v1/subnets", i); }
  listSubnets(f: { project?: string; vpc?: string } = {}): Promise<ItemList<Subnet>> { return this.request("GET", `/v1/subnets${queryString(f)}`); }
  getSubnet(id: string): Promise<Subnet> { return this.request("GET", `/v1/subnets/${encodeURIComponent(id)}`); }
  deleteSubnet(id: string): Promise<object> { return this.request("DELETE", `/v1/subnets/${encodeURIComponent(id)}`); }

  createPort(i: CreatePortInput): Promise<Port> { return this.request("POST", "/v1/ports", i); }
  listPorts(f: { project?: string; vpc?: string; subnet?: string; host?: string } = {}): Promise<ItemList<Port>> { return this.request("GET", `/v1/ports${queryString(f)}`); }
  getPort(id: string): Promise<Port> { return this.request("GET", `/v1/ports/${encodeURIComponent(id)}`); }
  updatePort(i: UpdatePortInput): Promise<Port> { const { id, ...rest } = i; return this.request("PATCH", `/v1/ports/${encodeURIComponent(id)}`, rest); }
  deletePort(id: string): Promise<object> { return this.request("DELETE", `/v1/ports/${encodeURIComponent(id)}`); }

  createSecGroup(i: { project?: string; name?: string; description?: string }): Promise<SecurityGroup> { return this.request("POST", "/v1/secgroups", i); }
  listSecGroups(project?: string): Promise<ItemList<SecurityGroup>> { return this.request("GET", `/v1/secgroups${queryString({ project })}`); }
  getSecGroup(id: string): Promise<SecurityGroup> { return this.request("GET", `/v1/secgroups/${encodeURIComponent(id)}`); }
  deleteSecGroup(id: string): Promise<object> { return this.request("DELETE", `/v1/secgroups/${encodeURIComponent(id)}`); }
  createRule(secgroup: string, rule: RuleSpec): Promise<SecurityGroupRule> { return this.request("POST", `/v1/secgroups/${encodeURIComponent(secgroup)}/rules`, rule); }
  deleteRule(secgroup: string, id: string): Promise<object> { return this.request("DELETE", `/v1/secgroups/${encodeURIComponent(secgroup)}/rules/${encodeURIComponent(id)}`); }

  createRouter(i: CreateRouterInput): Promise<Router> { return this.request("POST", "/v1/routers", i); }
  listRouters(project?: string): Promise<ItemList<Router>> { return this.request("GET", `/v1/routers${queryString({ project })}`); }
  getRouter(id: string): Promise<Router> { return this.request("GET", `/v1/routers/${encodeURIComponent(id)}`); }
  updateRouter(id: string, i: { name?: string; addSubnets?: string[]; removeSubnets?: string[] }): Promise<Router> { return this.request("PATCH", `/v1/routers/${encodeURIComponent(id)}`, i); }
  deleteRouter(id: string): Promise<object> { return this.request("DELETE", `/v1/routers/${encodeURIComponent(id)}`); }

  createFip(i: { project?: string; name?: string; port?: string }): Promise<FloatingIp> { return this.request("POST", "/v1/fips", i); }
  listFips(project?: string): Promise<ItemList<FloatingIp>> { return this.request("GET", `/v1/fips${queryString({ project })}`); }
  getFip(id: string): Promise<FloatingIp> { return this.request("GET", `/v1/fips/${encodeURIComponent(id)}`); }
  updateFip(id: string, i: { name?: string; port?: string }): Promise<FloatingIp> { return this.request("PATCH", `/v1/fips/${encodeURIComponent(id)}`, i); }
  deleteFip(id: string): Promise<object> { return this.request("DELETE", `/v1/fips/${encodeURIComponent(id)}`); }

  getQuota(project?: string): Promise<Quota> { return this.request("GET", `/v1/quotas${queryString({ project })}`); }
  updateQuota(project: string | undefined, limits: Partial<Quota["limits"]>): Promise<Quota> { return this.request("PATCH", "/v1/quotas", { ...(project ? { project } : {}), limits }); }
}
