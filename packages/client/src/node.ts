import WebSocket from "ws";
import { openSession as openSessionWith } from "./session.js";
import type { Session, SessionOptions } from "./session-types.js";
import type { WebSocketLike } from "./connection.js";

export * from "./index.js";
export { fsStorage } from "./storage/fs-storage.js";
export type { FsStorageOptions } from "./storage/fs-storage.js";

/** The `ws` WebSocket class, for Node versions without a global WebSocket. */
export const NodeWebSocket = WebSocket as unknown as WebSocketLike;

/** openSession with `ws` as the default WebSocket implementation. */
export const openSession = (o: SessionOptions): Promise<Session> => openSessionWith({ WebSocket: NodeWebSocket, ...o });
