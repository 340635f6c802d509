/**
 * Snapshot streaming on the sending side: the application's data is taken synchronously when
 * raft asks for a snapshot (so it matches the snapshot's index), then streamed in chunks; raft
 * is told the outcome so it retries after a failure or resumes appending after success.
 */
import type { SnapshotMessage } from "./codec.ts";
import type { Transport } from "./transport.ts";

/** Tracks snapshot streams in flight (one per group and peer). */
export class SnapshotSender {
  private readonly inflight = new Set<string>();

  constructor(
    private readonly transport: Transport,
    private readonly report: (groupId: number, to: number, ok: boolean) => void,
  ) {}

  /** True while a stream of `groupId` to `to` is running. */
  busy(groupId: number, to: number): boolean {
    return this.inflight.has(`${groupId}/${to}`);
  }

  /** Starts streaming `data` for snapshot message `m`; the outcome is reported, never thrown. */
  start(m: SnapshotMessage, data: Uint8Array): void {
    const key = `${m.groupId}/${m.to}`;
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    const message = m.message.slice();
    this.transport.sendSnapshot(m.to, m.groupId, message, data).then(
      () => {
        this.inflight.delete(key);
        this.report(m.groupId, m.to, true);
      },
      () => {
        this.inflight.delete(key);
        this.report(m.groupId, m.to, false);
      },
    );
  }
}
