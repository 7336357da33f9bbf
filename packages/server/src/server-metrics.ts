import { createMetrics, type Counter, type Histogram, type Metrics } from "./metrics.js";

/** The instruments a server records; /metrics renders them. */
export interface ServerMetrics {
  readonly registry: Metrics;
  readonly connectionsTotal: Counter;
  readonly updates: Counter;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly rejects: Counter;
  readonly roomLoads: Counter;
  readonly roomUnloads: Counter;
  readonly compactions: Counter;
  readonly storageSeconds: Histogram;
  readonly httpRequests: Counter;
  /** Seconds spent judging incoming updates (decode + ownership + validation), by document kind. */
  readonly validateSeconds: Histogram;
  /** Keys a server wrote back because a concurrent write would have changed what it held (keep-held), by root. */
  readonly keptHeld: Counter;
  /** Awareness entries or messages dropped (sent for ids the connection does not own, or past its rate). */
  readonly awarenessDropped: Counter;
}

// Platform-free: the resident size is reported where the runtime has `process.memoryUsage` (Node, Bun, Deno).
const rss = (): number => (globalThis as { process?: { memoryUsage?: () => { rss: number } } }).process?.memoryUsage?.().rss ?? 0;

export const createServerMetrics = (gauges: { connections: () => number; roomsLoaded: () => number }): ServerMetrics => {
  const m = createMetrics();
  m.gauge("ctxsync_connections", "Open WebSocket connections.", gauges.connections);
  m.gauge("ctxsync_rooms_loaded", "Documents held in memory.", gauges.roomsLoaded);
  m.gauge("ctxsync_process_resident_bytes", "Resident set size of the server process.", rss);
  return {
    registry: m,
    connectionsTotal: m.counter("ctxsync_connections_total", "WebSocket connections accepted (after auth)."),
    updates: m.counter("ctxsync_updates_total", "Updates applied and stored, by document kind and origin."),
    bytesIn: m.counter("ctxsync_bytes_in_total", "WebSocket bytes received."),
    bytesOut: m.counter("ctxsync_bytes_out_total", "WebSocket bytes sent."),
    rejects: m.counter("ctxsync_rejects_total", "Connections closed or requests refused, by reason (error code)."),
    roomLoads: m.counter("ctxsync_room_loads_total", "Documents loaded from storage."),
    roomUnloads: m.counter("ctxsync_room_unloads_total", "Documents unloaded from memory."),
    compactions: m.counter("ctxsync_compactions_total", "Snapshots written by background compaction."),
    storageSeconds: m.histogram("ctxsync_storage_seconds", "Storage operation latency by operation.", [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]),
    httpRequests: m.counter("ctxsync_http_requests_total", "REST requests by status class."),
    validateSeconds: m.histogram("ctxsync_validate_seconds", "Time spent judging one incoming update (decode, ownership, validation), by document kind.", [
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
    ]),
    keptHeld: m.counter("ctxsync_kept_held_total", "Branch or info keys written back because a concurrent write would have changed what the server held."),
    awarenessDropped: m.counter("ctxsync_awareness_dropped_total", "Awareness entries dropped: not owned by the sender, or past its rate."),
  };
};
