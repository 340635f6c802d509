/** Cluster and Maintenance basics: the member list and a member's status. */
import { int64ToBigint, int64ToNumber, type WireInt64 } from "./bytes.ts";
import type { CallControl, Connection } from "./connection.ts";
import { toHeader, type ResponseHeader, type WireHeader } from "./key-value.ts";
import { clusterService, maintenanceService } from "./rpc.ts";

/** One member of the cluster. */
export interface Member {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** The state of one member (etcd's Maintenance.Status). */
export interface MemberStatus {
  header: ResponseHeader;
  /** The server's etcd version (chainfire reports the etcd API level it implements). */
  version: string;
  /** Size of the backend database in bytes, and the part in use. */
  dbSize: number;
  dbSizeInUse: number;
  /** Member id of the leader (0n when there is none). */
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  /** Active alarms and errors, e.g. `memberID:... alarm:NOSPACE`. */
  errors: string[];
  isLearner: boolean;
}

interface WireMember {
  ID?: WireInt64;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

/** The members of the cluster. */
export async function memberList(conn: Connection, control: CallControl = {}): Promise<{ header: ResponseHeader; members: Member[] }> {
  const w = await conn.unary<unknown, { header?: WireHeader | null; members?: WireMember[] }>(clusterService.methods.MemberList, {}, "read", control);
  return {
    header: toHeader(w.header),
    members: (w.members ?? []).map((m) => ({
      id: int64ToBigint(m.ID),
      name: m.name ?? "",
      peerUrls: m.peerURLs ?? [],
      clientUrls: m.clientURLs ?? [],
      isLearner: !!m.isLearner,
    })),
  };
}

interface WireStatus {
  header?: WireHeader | null;
  version?: string;
  dbSize?: WireInt64;
  leader?: WireInt64;
  raftIndex?: WireInt64;
  raftTerm?: WireInt64;
  raftAppliedIndex?: WireInt64;
  errors?: string[];
  dbSizeInUse?: WireInt64;
  isLearner?: boolean;
}

/** The status of the member behind `endpoint` (default: the active endpoint, with failover). */
export async function status(conn: Connection, endpoint: string | undefined, control: CallControl = {}): Promise<MemberStatus> {
  const method = maintenanceService.methods.Status;
  const w = endpoint === undefined ? await conn.unary<unknown, WireStatus>(method, {}, "read", control) : await conn.unaryOn<unknown, WireStatus>(endpoint, method, {}, control);
  return {
    header: toHeader(w.header),
    version: w.version ?? "",
    dbSize: int64ToNumber(w.dbSize),
    dbSizeInUse: int64ToNumber(w.dbSizeInUse),
    leader: int64ToBigint(w.leader),
    raftIndex: int64ToNumber(w.raftIndex),
    raftTerm: int64ToNumber(w.raftTerm),
    raftAppliedIndex: int64ToNumber(w.raftAppliedIndex),
    errors: w.errors ?? [],
    isLearner: !!w.isLearner,
  };
}
