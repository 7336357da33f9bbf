/** Limits and timings of one server process. Every limit produces a documented close code. */
export interface Limits {
  /** Largest accepted WebSocket message (close 4413 above it). */
  readonly maxMessageBytes: number;
  /** Largest stored document: snapshot plus updates since it (close 4507 above it). */
  readonly maxDocumentBytes: number;
  /** Sustained messages per second per connection (close 4429 above it)... */
  readonly maxMessagesPerSecond: number;
  /** ...with bursts up to this many messages. */
  readonly messageBurst: number;
  /** Bytes queued for one connection that is not reading; past it the connection is closed (4429). */
  readonly maxBufferedBytes: number;
  /** Open WebSocket connections per process (new ones are refused with 4429 above it). */
  readonly maxConnections: number;
  /** Largest REST request body (413 above it). */
  readonly maxRequestBytes: number;
  /** Awareness messages per second per connection; past it they are dropped (never a reason to close). */
  readonly maxAwarenessMessagesPerSecond: number;
  /** Awareness client ids one connection may speak for (the stock client uses one). */
  readonly maxAwarenessIdsPerConnection: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxDocumentBytes: 256 * 1024 * 1024,
  maxMessagesPerSecond: 500,
  messageBurst: 2000,
  maxConnections: 10_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxRequestBytes: 32 * 1024 * 1024,
  maxAwarenessMessagesPerSecond: 50,
  maxAwarenessIdsPerConnection: 4,
};

export interface Timings {
  /** A room with no connection and no REST request is unloaded after this long. */
  readonly idleUnloadMs: number;
  /** Background compaction starts once a document has this many updates after its snapshot. */
  readonly compactAfterUpdates: number;
  /**
   * Awareness changes are relayed at most once per this many ms per room (coalesced). The stock client
   * echoes every relay back, so this also bounds what bystanders send: 1000/awarenessFlushMs per second.
   */
  readonly awarenessFlushMs: number;
  /** An expired rebuild lease is taken over only this long after it ended (docs/replay.md: why). */
  readonly leaseGraceMs: number;
}

export const DEFAULT_TIMINGS: Timings = { idleUnloadMs: 30_000, compactAfterUpdates: 500, awarenessFlushMs: 50, leaseGraceMs: 30_000 };
