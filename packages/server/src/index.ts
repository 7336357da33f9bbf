export { createApp } from "./app.js";
export { createAuthenticator } from "./auth.js";
export type { Access, Authenticator } from "./auth.js";
export { DEFAULT_LIMITS, DEFAULT_TIMINGS } from "./config.js";
export type { Limits, Timings } from "./config.js";
export { openConnection } from "./connection.js";
export type { PeerHandlers, PeerSocket } from "./connection.js";
export { createLogger, isLogLevel, silentLogger } from "./logger.js";
export type { LogFields, Logger, LogLevel } from "./logger.js";
export {
  decodeMessage,
  encodeAwareness,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  isNoopUpdate,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
} from "./messages.js";
export type { Incoming } from "./messages.js";
export { createMetrics } from "./metrics.js";
export type { Counter, Histogram, Metrics } from "./metrics.js";
export { serveNode } from "./node.js";
export type { NodeServer, ServeNodeOptions } from "./node.js";
export { openApiDocument } from "./openapi.js";
export { createRoomManager } from "./room-manager.js";
export type { RoomManager } from "./room-manager.js";
export type { Room, RoomPeer } from "./room.js";
export type { ServerMetrics } from "./server-metrics.js";
export { createPostgresStore } from "./storage/postgres.js";
export type { PostgresStoreOptions } from "./storage/postgres.js";
export { createSqliteStore } from "./storage/sqlite.js";
export type { SqliteStoreOptions } from "./storage/sqlite.js";
export type { DocInfo, DocStore, StoredDoc } from "./storage/types.js";
export { createSyncServer } from "./sync-server.js";
export type { SyncServer, SyncServerOptions } from "./sync-server.js";
