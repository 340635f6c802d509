/** The service catalog and the audit log. */
import type { AuditQuery } from "../audit.ts";
import { deregisterEndpoint, listCatalog, queryAudit, registerEndpoint, registerOwnEndpoint, verifyAudit } from "../service-catalog.ts";
import { op, type ApiOperation } from "./operation.ts";

export const catalogOperations: ApiOperation[] = [
  op<{ instance?: string; endpoints: Record<string, string> }>({ name: "RegisterOwnEndpoint", method: "POST", path: "/v1/catalog/own", auth: false, status: 200, response: "CatalogEntry", summary: "A PhotonCloud service registers its own endpoints (Authorization: Bearer its service secret)", fields: { instance: "string", endpoints: "map" }, required: ["endpoints"], run: (s, _c, i, r) => registerOwnEndpoint(s, i, r) }),
  op<{ service: string; instance?: string; endpoints: Record<string, string> }>({ name: "RegisterEndpoint", method: "POST", path: "/v1/catalog", auth: true, status: 200, response: "CatalogEntry", summary: "Register (or replace) a component's endpoints", fields: { service: "string", instance: "string", endpoints: "map", registeredAt: "integer" }, required: ["service", "endpoints"], run: (s, c, i) => registerEndpoint(s, c, i) }),
  op<{ service?: string }>({ name: "ListCatalog", method: "GET", path: "/v1/catalog", auth: true, response: "CatalogList", summary: "Every registered endpoint, or one service's", fields: { service: "string" }, run: (s, c, i) => listCatalog(s, c, i) }),
  op<{ service: string; instance: string }>({ name: "DeregisterEndpoint", method: "DELETE", path: "/v1/catalog/:service/:instance", auth: true, response: "Empty", summary: "Remove a catalog entry", fields: { service: "string", instance: "string" }, required: ["service", "instance"], run: (s, c, i) => deregisterEndpoint(s, c, i) }),
  op<AuditQuery>({ name: "QueryAudit", method: "GET", path: "/v1/audit", auth: true, response: "AuditRecordList", summary: "Audit records by time (from inclusive, to exclusive), principal and organisation", fields: { from: "string", to: "string", principal: "string", org: "string", limit: "integer" }, run: (s, c, i) => queryAudit(s, c, i) }),
  op<Record<string, never>>({ name: "VerifyAudit", method: "GET", path: "/v1/audit/verify", auth: true, response: "AuditVerification", summary: "Recompute the audit log's hash chain; reports modified and removed records", fields: {}, run: (s, c) => verifyAudit(s, c) }),
];
