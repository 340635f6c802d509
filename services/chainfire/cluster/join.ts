/**
 * Joining an existing cluster: ask a member (any; it forwards to the leader) to add this one with
 * MemberAdd, then start Raft with the id it got and the members' peer addresses. A member that
 * already has an identity in its data directory rejoins with it instead.
 */
import { existsSync, readFileSync } from "node:fs";
import { join as joinPath } from "node:path";
import { GrpcClient, type GrpcClientOptions } from "../../../lib/grpc/index.ts";
import { clusterService } from "../api/definitions.ts";
import { num, type Int64 } from "../api/wire.ts";
import type { ForwardTls } from "../log/forwarding.ts";
import { peerAddress } from "./members.ts";

/** Options of joinCluster. */
export interface JoinOptions {
  /** Client endpoint of a member, `http(s)://host:port`. */
  endpoint: string;
  dataDir: string;
  /** This member's Raft URL. */
  peerUrl: string;
  tls?: ForwardTls;
}

/** The id MemberAdd assigned and the peers to talk to; undefined when already a member. */
export async function joinCluster(o: JoinOptions): Promise<{ memberId: number; peers: Record<number, string> } | undefined> {
  if (existsSync(joinPath(o.dataDir, "member.json"))) return undefined;
  const options: GrpcClientOptions = { defaultTimeoutMs: 15_000 };
  if (o.endpoint.startsWith("https://") && o.tls) {
    options.tls = {
      ca: readFileSync(o.tls.caFile),
      ...(o.tls.certFile ? { cert: readFileSync(o.tls.certFile) } : {}),
      ...(o.tls.keyFile ? { key: readFileSync(o.tls.keyFile) } : {}),
    };
  }
  const client = new GrpcClient(o.endpoint.replace(/^https?:\/\//, ""), options);
  try {
    const res = (await client.unary(clusterService.methods.MemberAdd!, { peerURLs: [o.peerUrl] })) as {
      member: { ID: Int64 };
      members: { ID: Int64; peerURLs?: string[] }[];
    };
    const memberId = num(res.member.ID);
    const peers: Record<number, string> = {};
    for (const m of res.members) {
      const url = m.peerURLs?.[0];
      if (url && num(m.ID) !== memberId) peers[num(m.ID)] = peerAddress(url);
    }
    return { memberId, peers };
  } finally {
    client.close();
  }
}
