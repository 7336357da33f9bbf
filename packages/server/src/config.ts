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
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxDocumentBytes: 256 * 1024 * 1024,
  maxMessagesPerSecond: 500,
  messageBurst: 2000,
  maxConnections: 10_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxRequestBytes: 32 * 1024 * 1024,
};

export interface Timings {
  /** A room with no connection and no REST request is unloaded after this long. */
  readonly idleUnloadMs: number;
  /** Background compaction starts once a document has this many updates after its snapshot. */
  readonly compactAfterUpdates: number;
  /** An expired rebuild lease is taken over only this long after it ended (docs/replay.md: why). */
  readonly leaseGraceMs: number;
}

export const DEFAULT_TIMINGS: Timings = { idleUnloadMs: 30_000, compactAfterUpdates: 500, leaseGraceMs: 30_000 };
