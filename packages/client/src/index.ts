export { openSession } from "./session.js";
export type {
  AppendOpts,
  AssistantOpts,
  BranchInfo,
  BranchSwitch,
  Lease,
  LeaseEvent,
  Session,
  SessionChange,
  SessionEvents,
  SessionCompileOptions,
  SessionOptions,
  SyncStatus,
} from "./session-types.js";
export { connectDoc } from "./connection.js";
export type { ConnectionState, DocConnection, WebSocketLike } from "./connection.js";
export { describeHolder, leaseHolder, peersOf } from "./presence.js";
export type { DriveClaim, Peer, PresenceState } from "./presence.js";
export { memoryStorage } from "./storage/memory-storage.js";
export { persistDoc, STORAGE_ORIGIN } from "./storage/persist.js";
export type { CompactionPolicy, Persistence } from "./storage/persist.js";
export { runStorageConformance, storageConformanceCases } from "./storage/conformance.js";
export type { ConformanceCase, ConformanceResult, StorageFactory, StorageHarness } from "./storage/conformance.js";
export type { ClientStorage, StorageStats, StoredDoc } from "./storage/types.js";
export { asSyncError as toClientError, isSyncError, syncError, tokenScopes } from "@ctxsync/protocol";
export type { SyncError, SyncErrorCode } from "@ctxsync/protocol";
