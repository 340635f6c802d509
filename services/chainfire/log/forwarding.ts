/**
 * Followers' calls to the leader (chainfire.internal.Forward), over our gRPC client: one client
 * per leader endpoint, found in the members' replicated attributes. Errors thrown on the leader
 * come back with their code (lib/grpc carries it), so a forwarded call fails exactly as a local
 * one would.
 */
import { readFileSync } from "node:fs";
import { GrpcClient, type GrpcClientOptions } from "../../../lib/grpc/index.ts";
import { forwardService } from "../api/definitions.ts";
import { num, type Int64 } from "../api/wire.ts";
import { memberAttrs } from "../cluster/members.ts";
import { etcdError } from "../errors.ts";
import type { MvccStore } from "../mvcc/mvcc-store.ts";
import type { Command } from "../types.ts";
import type { Applied } from "./command-log.ts";
import { decodeMessage, encodeMessage } from "./command-codec.ts";

/** TLS material a member uses as a client of another member (its own certificate: mTLS). */
export interface ForwardTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

const methods = forwardService.methods as Record<"Propose" | "KeepAlive" | "Admin", NonNullable<(typeof forwardService.methods)[string]>>;

/** Clients to other members, by member id. */
export class Forwarding {
  private readonly clients = new Map<string, GrpcClient>();

  constructor(
    private readonly store: MvccStore,
    private readonly tls?: ForwardTls,
  ) {}

  private client(memberId: number): GrpcClient {
    const url = memberAttrs(this.store).get(memberId)?.clientUrls[0];
    if (!url) throw etcdError("NotLeader");
    let c = this.clients.get(url);
    if (!c) {
      const target = url.replace(/^https?:\/\//, "");
      const options: GrpcClientOptions = { defaultTimeoutMs: 10_000 };
      if (url.startsWith("https://") && this.tls) {
        options.tls = {
          ca: readFileSync(this.tls.caFile),
          ...(this.tls.certFile ? { cert: readFileSync(this.tls.certFile) } : {}),
          ...(this.tls.keyFile ? { key: readFileSync(this.tls.keyFile) } : {}),
        };
      }
      c = new GrpcClient(target, options);
      this.clients.set(url, c);
    }
    return c;
  }

  /** Proposes `cmd` on the leader. */
  async propose(leaderId: number, cmd: Command): Promise<Applied> {
    const res = (await this.client(leaderId).unary(methods.Propose, { command: encodeMessage(cmd) })) as { result: Uint8Array };
    return decodeMessage<Applied>(res.result);
  }

  /** Renews a lease on the leader; returns its TTL (0 when unknown). */
  async keepAlive(leaderId: number, id: number): Promise<number> {
    const res = (await this.client(leaderId).unary(methods.KeepAlive, { id })) as { ttl?: Int64 };
    return num(res.ttl);
  }

  /** Runs a membership operation on the leader. */
  async admin<T>(leaderId: number, op: unknown): Promise<T> {
    const res = (await this.client(leaderId).unary(methods.Admin, { command: encodeMessage(op) })) as { result: Uint8Array };
    return decodeMessage<T>(res.result);
  }

  /** Closes every client. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
