import { createAuthenticator, type Authenticator } from "./auth.js";
import { DEFAULT_LIMITS, DEFAULT_TIMINGS, type Limits, type Timings } from "./config.js";
import { openConnection, type PeerHandlers, type PeerSocket } from "./connection.js";
import { createLogger, type Logger } from "./logger.js";
import { createRoomManager, type RoomManager } from "./room-manager.js";
import type { RoomPeer } from "./room.js";
import { createServerMetrics, type ServerMetrics } from "./server-metrics.js";
import { instrumentStore } from "./storage/instrument.js";
import type { DocStore } from "./storage/types.js";

export interface SyncServerOptions {
  readonly store: DocStore;
  /** HS256 secret for tokens. Without one the server is open: every request has every scope. */
  readonly authSecret?: string;
  readonly logger?: Logger;
  readonly limits?: Partial<Limits>;
  readonly timings?: Partial<Timings>;
}

/**
 * The transport-independent server: rooms, auth, limits, metrics. `createApp` puts REST on top of
 * it and `serveNode` connects it to a Node HTTP server and WebSockets.
 */
export interface SyncServer {
  /** The store, instrumented with storage latency metrics. */
  readonly store: DocStore;
  readonly rooms: RoomManager;
  readonly auth: Authenticator;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly limits: Limits;
  readonly timings: Timings;
  readonly startedAt: number;
  /** Attach a WebSocket that asked for `/sync/<room>`. */
  connect(socket: PeerSocket, room: string, token: string | null | undefined): PeerHandlers;
  connections(): number;
  track(peer: RoomPeer): void;
  untrack(peer: RoomPeer): void;
  isShuttingDown(): boolean;
  /** Refuse new connections, close open ones with 4503, drain and compact every room, close the store. */
  shutdown(): Promise<void>;
}

export const createSyncServer = (opts: SyncServerOptions): SyncServer => {
  const logger = opts.logger ?? createLogger("info");
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const timings = { ...DEFAULT_TIMINGS, ...opts.timings };
  const peers = new Set<RoomPeer>();
  // The gauge is read at scrape time, once `rooms` exists.
  const metrics = createServerMetrics({ connections: () => peers.size, roomsLoaded: () => rooms.size() });
  const store = instrumentStore(opts.store, metrics);
  const rooms: RoomManager = createRoomManager({ store, logger, metrics, limits, timings });
  let shuttingDown: Promise<void> | null = null;

  const server: SyncServer = {
    store,
    rooms,
    auth: createAuthenticator(opts.authSecret),
    metrics,
    logger,
    limits,
    timings,
    startedAt: Date.now(),
    connect: (socket, room, token) => openConnection(server, socket, room, token),
    connections: () => peers.size,
    track: (p) => peers.add(p),
    untrack: (p) => peers.delete(p),
    isShuttingDown: () => shuttingDown !== null,
    shutdown() {
      shuttingDown ??= (async () => {
        logger.info("shutting-down", { connections: peers.size, rooms: rooms.size() });
        await rooms.closeAll("shutting-down", "server is shutting down; reconnect shortly");
        await store.close();
        logger.info("shut-down", {});
      })();
      return shuttingDown;
    },
  };
  return server;
};
