import { newServerClientId } from "@ctxsync/core";
import { createAuthenticator, type Authenticator } from "./auth.js";
import { DEFAULT_LIMITS, DEFAULT_TIMINGS, type Limits, type Timings } from "./config.js";
import { openConnection, type ConnectInfo, type PeerHandlers, type PeerSocket } from "./connection.js";
import { createLogger, type Logger } from "./logger.js";
import { createOriginPolicy, type OriginPolicy } from "./origin-check.js";
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
  /** Web page origins allowed besides loopback ones (`*`: any). See origin-check.ts. */
  readonly allowOrigins?: readonly string[];
  /** Host names an open server answers besides loopback ones. */
  readonly allowHosts?: readonly string[];
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
  /** Which web pages may use this server. */
  readonly originPolicy: OriginPolicy;
  /** This process's Yjs client id (a server client id): every write the server makes uses it. */
  readonly clientId: number;
  /** Attach a WebSocket that asked for `/sync/<room>`. */
  connect(socket: PeerSocket, room: string, token: string | null | undefined, info?: ConnectInfo): PeerHandlers;
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
  const clientId = newServerClientId();
  const rooms: RoomManager = createRoomManager({ store, logger, metrics, limits, timings, clientId });
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
    originPolicy: createOriginPolicy({ open: opts.authSecret === undefined, allowOrigins: opts.allowOrigins ?? [], allowHosts: opts.allowHosts ?? [] }),
    clientId,
    connect: (socket, room, token, info = {}) => openConnection(server, socket, room, token, info),
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
