// The platform-free root: the server without a transport or a storage engine. Runtimes and
// backends are separate entries: @ctxsync/server/node (Node HTTP + ws), /sqlite, /postgres.
export { createApp } from "./app.js";
export { createAuthenticator } from "./auth.js";
export type { Access, Authenticator } from "./auth.js";
export { DEFAULT_LIMITS, DEFAULT_TIMINGS } from "./config.js";
export type { Limits, Timings } from "./config.js";
export { openConnection } from "./connection.js";
export type { ConnectionDeps, PeerHandlers, PeerSocket } from "./connection.js";
export { createLogger, isLogLevel, silentLogger } from "./logger.js";
export type { LogFields, Logger, LogLevel } from "./logger.js";
export { isNoopUpdate } from "./noop-update.js";
export { createMetrics } from "./metrics.js";
export type { Counter, Histogram, Metrics } from "./metrics.js";
export { openApiDocument } from "./openapi.js";
export { createRoomManager } from "./room-manager.js";
export type { RoomManager } from "./room-manager.js";
export type { Room, RoomPeer } from "./room.js";
export type { ServerMetrics } from "./server-metrics.js";
export type { DocInfo, DocStore, StoredDoc } from "./storage/types.js";
export { createSyncServer } from "./sync-server.js";
export type { SyncServer, SyncServerOptions } from "./sync-server.js";
