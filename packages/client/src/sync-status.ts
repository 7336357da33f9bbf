import type { DocConnection } from "./connection.js";
import type { SyncStatus } from "./session-types.js";

/**
 * A session's status from its documents' connections: `synced` once every document is, `offline`
 * when there is nothing to sync with (no url), a refusal stopped a connection, or one is failing
 * while disconnected; `connecting` otherwise.
 */
export const syncStatusOf = (connections: readonly DocConnection[]): SyncStatus => {
  if (connections.length === 0) return "offline";
  if (connections.every((c) => c.synced)) return "synced";
  if (connections.some((c) => c.stopped || (c.state !== "connected" && c.failing))) return "offline";
  return "connecting";
};
