import type { DocKind } from "@ctxsync/core";
import { CLOSE_CODES, closeReason, decodeMessage, isSyncError, MESSAGE_AWARENESS, parseDocName, syncError, toSyncError, type SyncError } from "@ctxsync/protocol";
import type { Access, Authenticator } from "./auth.js";
import type { Limits } from "./config.js";
import type { Logger } from "./logger.js";
import { checkOrigin, type OriginPolicy } from "./origin-check.js";
import type { Room, RoomPeer } from "./room.js";
import type { RoomManager } from "./room-manager.js";
import type { ServerMetrics } from "./server-metrics.js";

/** The transport a connection writes to (a `ws` socket in Node, anything with send/close elsewhere). */
export interface PeerSocket {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet sent (a slow or stalled reader makes this grow). */
  bufferedAmount?(): number;
}

/** What a transport knows about who is connecting (for the Origin/Host check). */
export interface ConnectInfo {
  readonly origin?: string | undefined;
  readonly host?: string | undefined;
}

/** What the transport calls: each incoming frame, and once when the socket has closed. */
export interface PeerHandlers {
  message(data: Uint8Array, isBinary: boolean): void;
  closed(): void;
}

/** What a connection needs from the server (the server passes itself; tests may pass less). */
export interface ConnectionDeps {
  readonly auth: Authenticator;
  readonly rooms: RoomManager;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly limits: Limits;
  /** Which web pages may connect (Origin, and Host on an open server). */
  readonly originPolicy: OriginPolicy;
  isShuttingDown(): boolean;
  /** Open connections of the process (for `maxConnections`). */
  connections(): number;
  track(peer: RoomPeer): void;
  untrack(peer: RoomPeer): void;
}

let nextId = 1;

/**
 * One WebSocket connection to one room. Auth is checked first: a refused connection is closed
 * with its close code before a single byte of the document is sent. Then every frame passes the
 * size limit, the rate limit and strict decoding before the room sees it; any refusal closes the
 * connection with the code for its reason.
 */
export const openConnection = (
  server: ConnectionDeps,
  socket: PeerSocket,
  roomName: string,
  token: string | null | undefined,
  info: ConnectInfo = {},
): PeerHandlers => {
  const { limits, metrics, logger } = server;
  let access: Access;
  let kind: DocKind;
  let conversation: string;
  let writable = false;
  const refuse = (e: SyncError): PeerHandlers => {
    metrics.rejects.inc({ reason: e.code });
    logger.info("connection-refused", { room: roomName, code: e.code, reason: e.message });
    socket.close(CLOSE_CODES[e.code], closeReason(e.message));
    return { message: () => undefined, closed: () => undefined };
  };
  try {
    if (server.isShuttingDown()) throw syncError("shutting-down", "server is shutting down");
    const refused = checkOrigin(server.originPolicy, info);
    if (refused) throw refused;
    ({ conversation, kind } = parseDocName(roomName));
  } catch (e) {
    return refuse(isSyncError(e) ? e : syncError("bad-request", (e as Error).message));
  }
  try {
    access = server.auth.verify(token);
    ({ writable } = server.auth.room(access, conversation, kind));
  } catch (e) {
    return refuse(toSyncError(e, "unauthorized"));
  }
  if (server.connections() >= limits.maxConnections)
    return refuse(syncError("rate-limited", `server is at its limit of ${limits.maxConnections} connections; try again later`));

  let room: Room | undefined;
  let buffered: Uint8Array[] | null = [];
  let bufferedBytes = 0;
  let cleanedUp = false;
  let tokens = limits.messageBurst;
  let lastRefill = performance.now();

  const peer: RoomPeer & { closed: boolean } = {
    id: nextId++,
    closed: false,
    identity: access.subject,
    awarenessIds: new Set(),
    held: null,
    synced: false,
    send(frame) {
      if (peer.closed) return;
      metrics.bytesOut.inc({}, frame.byteLength);
      socket.send(frame);
      // Memory stays bounded with a reader that stalls: stop queueing for it.
      const queued = socket.bufferedAmount?.() ?? 0;
      if (queued > limits.maxBufferedBytes) peer.close("rate-limited", `client is not reading: ${queued} bytes queued`);
    },
    close(code, message) {
      if (peer.closed) return;
      peer.closed = true;
      if (code !== "shutting-down") metrics.rejects.inc({ reason: code });
      logger[code === "shutting-down" ? "debug" : "info"]("connection-closed", { peer: peer.id, room: roomName, code, reason: message });
      socket.close(CLOSE_CODES[code], closeReason(message));
      cleanup();
    },
  };
  // A connection does not outlive its token: close it with 4402 when the token expires.
  const expiry =
    access.expiresAt === undefined
      ? undefined
      : setTimeout(() => peer.close("token-expired", "token expired"), Math.min(2 ** 31 - 1, Math.max(0, access.expiresAt * 1000 - Date.now())));
  expiry?.unref();
  const cleanup = () => {
    if (cleanedUp) return;
    cleanedUp = true;
    if (expiry) clearTimeout(expiry);
    server.untrack(peer);
    if (room) {
      room.leave(peer);
      server.rooms.release(room);
    }
  };
  const fail = (e: unknown) => {
    const err = toSyncError(e);
    if (err.code === "internal") logger.error("connection-error", { peer: peer.id, room: roomName, error: err.message });
    peer.close(err.code, err.message);
  };

  const handle = (r: Room, frame: Uint8Array) => {
    const msg = decodeMessage(frame);
    switch (msg.type) {
      case "sync-step1":
        r.answerStep1(msg.stateVector, peer).catch(fail);
        return;
      case "sync-step2":
      case "sync-update":
        r.receiveUpdate(msg.update, peer, writable, msg.type === "sync-step2").catch(fail);
        return;
      case "awareness":
        r.receiveAwareness(msg.update, peer);
        return;
      case "query-awareness":
        r.sendAllAwareness(peer);
        return;
    }
  };

  server.track(peer);
  metrics.connectionsTotal.inc();
  server.rooms.acquire(roomName).then(
    (r) => {
      if (peer.closed) {
        server.rooms.release(r);
        return;
      }
      room = r;
      r.join(peer);
      const queued = buffered ?? [];
      buffered = null;
      for (const f of queued) {
        if (peer.closed) break;
        try {
          handle(r, f);
        } catch (e) {
          fail(e);
        }
      }
    },
    (e) => fail(toSyncError(e, "storage-unavailable")),
  );
  logger.debug("connection-opened", { peer: peer.id, room: roomName, writable, subject: access.subject });

  return {
    message(data, isBinary) {
      if (peer.closed) return;
      metrics.bytesIn.inc({}, data.byteLength);
      try {
        if (data.byteLength > limits.maxMessageBytes)
          throw syncError("message-too-large", `message of ${data.byteLength} bytes exceeds the limit of ${limits.maxMessageBytes}`);
        // Awareness messages (type 1) are metered by the room apart from these, and dropped rather than
        // refused past their rate: the stock client echoes every awareness relay it receives, so their
        // number follows what others do, and nobody is closed for traffic it did not originate.
        if (data[0] !== MESSAGE_AWARENESS) {
          const now = performance.now();
          tokens = Math.min(limits.messageBurst, tokens + ((now - lastRefill) * limits.maxMessagesPerSecond) / 1000);
          lastRefill = now;
          if (tokens < 1) throw syncError("rate-limited", `more than ${limits.maxMessagesPerSecond} messages per second`);
          tokens -= 1;
        }
        if (!isBinary) throw syncError("malformed-message", "malformed message: text frames are not part of the protocol");
        if (room) handle(room, data);
        else {
          // The document is still loading: keep frames in order, within bounds.
          bufferedBytes += data.byteLength;
          if (bufferedBytes > limits.maxMessageBytes * 2)
            throw syncError("rate-limited", "too much sent before the document finished loading");
          buffered!.push(data);
        }
      } catch (e) {
        fail(e);
      }
    },
    closed() {
      peer.closed = true;
      cleanup();
    },
  };
};

