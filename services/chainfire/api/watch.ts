/**
 * gRPC handler of etcdserverpb.Watch: one bidirectional stream carries many watches. Watch ids
 * are per stream (from 0, or chosen by the client); the hub's ids are global. Backpressure: when
 * too many response bytes wait for HTTP/2 flow control, the stream's watchers are paused in the hub
 * and resumed from the store once the stream drains (etcd's "victim" handling, without
 * unbounded buffers).
 */
import { PreEncoded, type ServerDuplex, type ServiceHandlers } from "../../../lib/grpc/index.ts";
import type { ChainfireService } from "../service.ts";
import type { WatchNotice } from "../watch/watch-hub.ts";
import { FrameBatch, WatchResponseEncoder } from "./watch-encoding.ts";
import { num, wireEvent, type Int64 } from "./wire.ts";

/** etcd's id for responses not tied to one watch. */
const INVALID_WATCH_ID = -1;
/** Response bytes allowed in flight per stream before its watchers pause. */
const HIGH_WATER_BYTES = 1 << 20;

interface WireWatchRequest {
  createRequest?: {
    key?: Uint8Array;
    rangeEnd?: Uint8Array;
    startRevision?: Int64;
    progressNotify?: boolean;
    filters?: number[];
    prevKv?: boolean;
    watchId?: Int64;
    fragment?: boolean;
  } | null;
  cancelRequest?: { watchId?: Int64 } | null;
  progressRequest?: object | null;
}

/** The Watch handler over `svc`. */
export function watchHandlers(svc: ChainfireService): ServiceHandlers {
  const encoder = new WatchResponseEncoder();
  return {
    Watch: async (stream: ServerDuplex<WireWatchRequest, unknown>) => {
      const hub = svc.hub;
      /** stream watch id → hub id */
      const ids = new Map<number, number>();
      let nextId = 0;
      // Notices delivered in one turn (one commit reaching this stream's watchers) are framed
      // straight into one buffer and written once: one HTTP/2 write for many responses. Any
      // other response first flushes what is batched, so each watch's responses stay in order.
      let pendingBytes = 0;
      const batch = new FrameBatch();
      const send = (msg: unknown, bytes: number): void => {
        pendingBytes += bytes;
        void stream.write(msg).then(() => {
          pendingBytes -= bytes;
          if (pendingBytes === 0) for (const hubId of ids.values()) hub.resume(hubId);
        });
      };
      const flush = (): void => {
        if (batch.length === 0) return;
        const frames = batch.take();
        send(PreEncoded.frames(frames), frames.length);
      };
      const write = (msg: unknown): boolean => {
        flush();
        send(msg, 64);
        return pendingBytes < HIGH_WATER_BYTES;
      };
      const sinkFor = (streamId: number) => ({
        send: (n: WatchNotice): boolean => {
          if (!n.canceled) {
            if (batch.length === 0) queueMicrotask(flush);
            encoder.append(batch, svc.header(n.revision), streamId, n.events);
            return pendingBytes + batch.length < HIGH_WATER_BYTES;
          }
          ids.delete(streamId);
          return write({
            header: svc.header(n.revision),
            watchId: streamId,
            events: n.events.map(wireEvent),
            canceled: true,
            compactRevision: n.compactRevision ?? 0,
            cancelReason: n.cancelReason ?? "",
          });
        },
      });
      try {
        for await (const req of stream) {
          if (req.createRequest) {
            const c = req.createRequest;
            // 0 asks the server to choose (etcd's AutoWatchID); another id is the client's.
            let streamId = num(c.watchId);
            if (streamId !== 0) {
              if (ids.has(streamId)) {
                write({ header: svc.header(), watchId: streamId, created: true, canceled: true, cancelReason: "mvcc: duplicate watch ID provided on the WatchStream" });
                continue;
              }
            } else {
              while (ids.has(nextId)) nextId++;
              streamId = nextId++;
            }
            const hubId = svc.newWatchId();
            ids.set(streamId, hubId);
            const filters = c.filters ?? [];
            write({ header: svc.header(), watchId: streamId, created: true });
            hub.add(
              hubId,
              {
                key: c.key && c.key.length > 0 ? c.key : Uint8Array.of(0),
                rangeEnd: c.rangeEnd ?? new Uint8Array(0),
                startRevision: num(c.startRevision),
                prevKv: !!c.prevKv,
                noPut: filters.includes(0),
                noDelete: filters.includes(1),
                progressNotify: !!c.progressNotify,
              },
              sinkFor(streamId),
            );
          } else if (req.cancelRequest) {
            const streamId = num(req.cancelRequest.watchId);
            const hubId = ids.get(streamId);
            if (hubId !== undefined && hub.cancel(hubId)) {
              ids.delete(streamId);
              write({ header: svc.header(), watchId: streamId, canceled: true });
            }
          } else if (req.progressRequest) {
            write({ header: svc.header(), watchId: INVALID_WATCH_ID });
          }
        }
      } finally {
        for (const hubId of ids.values()) hub.cancel(hubId);
      }
    },
  };
}
