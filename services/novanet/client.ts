/**
 * `NovanetClient`: how the CLI, plasmavmc and tests talk to novanet's REST API. Errors come back
 * as the PhotonErrors the server threw (rebuilt from their `code`, never from messages).
 * @example
 * const nn = new NovanetClient("http://127.0.0.1:7090", token);
 * const vpc = await nn.createVpc({ cidr: "10.0.0.0/16", name: "prod" });
 * const port = await nn.createPort({ subnet: sn.id, host: "hv1" });
 */
import { GrpcStatus, PhotonError, type GrpcStatusCode } from "../../lib/errors.ts";
import type { CreatePortInput, UpdatePortInput } from "./service-port.ts";
import type { CreateRouterInput } from "./service-router.ts";
import type { CreateSubnetInput } from "./service-subnet.ts";
import type { CreateVpcInput } from "./service-vpc.ts";
import type { RuleSpec } from "./model/validate.ts";
import type { FloatingIp, ItemList, Port, Quota, Router, SecurityGroup, SecurityGroupRule, Subnet, Vpc } from "./types.ts";

const grpcForHttp: Record<number, GrpcStatusCode> = {
  400: GrpcStatus.INVALID_ARGUMENT, 401: GrpcStatus.UNAUTHENTICATED, 403: GrpcStatus.PERMISSION_DENIED, 404: GrpcStatus.NOT_FOUND,
  409: GrpcStatus.ALREADY_EXISTS, 429: GrpcStatus.RESOURCE_EXHAUSTED, 503: GrpcStatus.UNAVAILABLE,
};

const q = (params: Record<string, string | undefined>) => {
  const s = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")).toString();
  return s ? `?${s}` : "";
};

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
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/$/, "")}${path}`, {
        method,
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new PhotonError("PHOTON:Unavailable", `novanet does not answer at ${this.baseUrl}: ${(e as Error).message}`, { grpc: GrpcStatus.UNAVAILABLE, cause: e });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
      throw new PhotonError(err?.code ?? "PHOTON:Internal", err?.message ?? `HTTP ${res.status}`, { grpc: grpcForHttp[res.status] ?? GrpcStatus.UNKNOWN, http: res.status, ...(err?.details ? { details: err.details } : {}) });
    }
    return json as T;
  }

  createVpc(i: CreateVpcInput): Promise<Vpc> { return this.request("POST", "/v1/vpcs", i); }
  listVpcs(project?: string): Promise<ItemList<Vpc>> { return this.request("GET", `/v1/vpcs${q({ project })}`); }
  getVpc(id: string): Promise<Vpc> { return this.request("GET", `/v1/vpcs/${encodeURIComponent(id)}`); }
  deleteVpc(id: string): Promise<object> { return this.request("DELETE", `/v1/vpcs/${encodeURIComponent(id)}`); }

  createSubnet(i: CreateSubnetInput): Promise<Subnet> { return this.request("POST", "/v1/subnets", i); }
  listSubnets(f: { project?: string; vpc?: string } = {}): Promise<ItemList<Subnet>> { return this.request("GET", `/v1/subnets${q(f)}`); }
  getSubnet(id: string): Promise<Subnet> { return this.request("GET", `/v1/subnets/${encodeURIComponent(id)}`); }
  deleteSubnet(id: string): Promise<object> { return this.request("DELETE", `/v1/subnets/${encodeURIComponent(id)}`); }

  createPort(i: CreatePortInput): Promise<Port> { return this.request("POST", "/v1/ports", i); }
  listPorts(f: { project?: string; vpc?: string; subnet?: string; host?: string } = {}): Promise<ItemList<Port>> { return this.request("GET", `/v1/ports${q(f)}`); }
  getPort(id: string): Promise<Port> { return this.request("GET", `/v1/ports/${encodeURIComponent(id)}`); }
  updatePort(i: UpdatePortInput): Promise<Port> { const { id, ...rest } = i; return this.request("PATCH", `/v1/ports/${encodeURIComponent(id)}`, rest); }
  deletePort(id: string): Promise<object> { return this.request("DELETE", `/v1/ports/${encodeURIComponent(id)}`); }

  createSecGroup(i: { project?: string; name?: string; description?: string }): Promise<SecurityGroup> { return this.request("POST", "/v1/secgroups", i); }
  listSecGroups(project?: string): Promise<ItemList<SecurityGroup>> { return this.request("GET", `/v1/secgroups${q({ project })}`); }
  getSecGroup(id: string): Promise<SecurityGroup> { return this.request("GET", `/v1/secgroups/${encodeURIComponent(id)}`); }
  deleteSecGroup(id: string): Promise<object> { return this.request("DELETE", `/v1/secgroups/${encodeURIComponent(id)}`); }
  createRule(secgroup: string, rule: RuleSpec): Promise<SecurityGroupRule> { return this.request("POST", `/v1/secgroups/${encodeURIComponent(secgroup)}/rules`, rule); }
  deleteRule(secgroup: string, id: string): Promise<object> { return this.request("DELETE", `/v1/secgroups/${encodeURIComponent(secgroup)}/rules/${encodeURIComponent(id)}`); }

  createRouter(i: CreateRouterInput): Promise<Router> { return this.request("POST", "/v1/routers", i); }
  listRouters(project?: string): Promise<ItemList<Router>> { return this.request("GET", `/v1/routers${q({ project })}`); }
  getRouter(id: string): Promise<Router> { return this.request("GET", `/v1/routers/${encodeURIComponent(id)}`); }
  updateRouter(id: string, i: { name?: string; addSubnets?: string[]; removeSubnets?: string[] }): Promise<Router> { return this.request("PATCH", `/v1/routers/${encodeURIComponent(id)}`, i); }
  deleteRouter(id: string): Promise<object> { return this.request("DELETE", `/v1/routers/${encodeURIComponent(id)}`); }

  createFip(i: { project?: string; name?: string; port?: string }): Promise<FloatingIp> { return this.request("POST", "/v1/fips", i); }
  listFips(project?: string): Promise<ItemList<FloatingIp>> { return this.request("GET", `/v1/fips${q({ project })}`); }
  getFip(id: string): Promise<FloatingIp> { return this.request("GET", `/v1/fips/${encodeURIComponent(id)}`); }
  updateFip(id: string, i: { name?: string; port?: string }): Promise<FloatingIp> { return this.request("PATCH", `/v1/fips/${encodeURIComponent(id)}`, i); }
  deleteFip(id: string): Promise<object> { return this.request("DELETE", `/v1/fips/${encodeURIComponent(id)}`); }

  getQuota(project?: string): Promise<Quota> { return this.request("GET", `/v1/quotas${q({ project })}`); }
  updateQuota(project: string | undefined, limits: Partial<Quota["limits"]>): Promise<Quota> { return this.request("PATCH", "/v1/quotas", { ...(project ? { project } : {}), limits }); }
}
