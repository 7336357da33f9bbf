import * as decoding from "lib0/decoding";
import { Awareness } from "y-protocols/awareness";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import {
  codeForClose,
  codeForHttpStatus,
  describeCode,
  encodeSyncStep1,
  isPermanent,
  MESSAGE_SYNC,
  SYNC_STEP2,
  syncError,
  type SyncError,
  type SyncErrorCode,
} from "@ctxsync/protocol";

/** A WebSocket constructor: the browser's, or `ws` in Node. */
export type WebSocketLike = new (url: string, protocols?: string | string[]) => WebSocket;

export type ConnectionState = "connecting" | "connected" | "disconnected";

export interface DocConnection {
  readonly room: string;
  readonly awareness: Awareness;
  readonly state: ConnectionState;
  readonly synced: boolean;
  /** Closed by the server for good (bad token, refused update...): no more reconnecting. */
  readonly stopped: SyncError | undefined;
  /** Whether the last attempt failed (the server is unreachable or closed the connection). */
  readonly failing: boolean;
  /**
   * Resolves after a full round trip that started now: everything this client sent before the
   * call has reached the server and been processed (messages on one socket are handled in order).
   */
  roundTrip(): Promise<void>;
  /** Connect again after a stop or `disconnect()`, optionally with a new token (e.g. after token-expired). */
  reconnect(token?: string): void;
  disconnect(): void;
  destroy(): void;
}

export interface ConnectOptions {
  readonly url: string;
  readonly room: string;
  readonly doc: Y.Doc;
  readonly token?: string;
  readonly WebSocket: WebSocketLike;
  /** Share presence on this connection; without it the connection carries no awareness state. */
  readonly awareness?: Awareness;
  readonly onChange: () => void;
  readonly onError: (e: SyncError) => void;
  readonly maxBackoffMs?: number;
}

/**
 * The stock provider adds one `process.on("exit")` listener per document (to say goodbye through
 * awareness); a few sessions exceed Node's default of 10 listeners and print a leak warning. One
 * shared listener calls them all instead.
 */
const exitHandlers = new Set<() => void>();
const proc = (globalThis as { process?: { on?: (e: string, f: () => void) => void; off?: (e: string, f: () => void) => void } }).process;
let exitHooked = false;
const shareExitHandler = (provider: WebsocketProvider): (() => void) => {
  const handler = (provider as unknown as { _exitHandler?: () => void })._exitHandler;
  if (!handler || typeof proc?.off !== "function" || typeof proc.on !== "function") return () => {};
  proc.off("exit", handler);
  exitHandlers.add(handler);
  if (!exitHooked) {
    exitHooked = true;
    proc.on("exit", () => exitHandlers.forEach((h) => h()));
  }
  return () => void exitHandlers.delete(handler);
};

export const connectDoc = (o: ConnectOptions): DocConnection => {
  const awareness = o.awareness ?? new Awareness(o.doc);
  const ownAwareness = o.awareness === undefined;
  // A document without presence sends no awareness state at all (and no 15 s heartbeats).
  if (ownAwareness) awareness.setLocalState(null);
  let stopped: SyncError | undefined;
  let state: ConnectionState = "connecting";
  let failing = false;
  const waiters: Array<() => void> = [];
  /** reconnect() was called while the old socket was still closing: its close must not stop us. */
  let superseded = false;

  const provider = new WebsocketProvider(o.url, o.room, o.doc, {
    connect: false,
    awareness,
    params: o.token ? { token: o.token } : {},
    WebSocketPolyfill: o.WebSocket as unknown as typeof WebSocket,
    maxBackoffTime: o.maxBackoffMs ?? 2500,
    // BroadcastChannel exists in Node too: two sessions in one process must not sync around the server.
    disableBc: true,
    shouldReconnect: (ev: CloseEvent) => {
      if (superseded) {
        superseded = false;
        return true;
      }
      const code = codeForClose(ev.code);
      return code === undefined || !isPermanent(code);
    },
  });

  const unshareExit = shareExitHandler(provider);

  // Observe sync step 2 replies so roundTrip() knows when the server answered.
  const original = provider.messageHandlers[MESSAGE_SYNC]!;
  provider.messageHandlers[MESSAGE_SYNC] = (encoder, decoder, p, emitSynced, type) => {
    const kind = decoding.peekVarUint(decoder);
    original(encoder, decoder, p, emitSynced, type);
    if (kind === SYNC_STEP2) waiters.splice(0).forEach((w) => w());
  };

  const stop = (code: SyncErrorCode, reason: string, details: Record<string, unknown>) => {
    const err = syncError(code, `${o.room}: ${reason || describeCode(code)}`, { room: o.room, ...details });
    if (isPermanent(code)) {
      stopped = err;
      provider.shouldConnect = false;
    }
    o.onError(err);
  };

  provider.on("status", ({ status }) => {
    state = status;
    if (status === "connected") {
      failing = false;
      superseded = false;
    }
    o.onChange();
  });
  provider.on("sync", () => o.onChange());
  provider.on("connection-close", (ev) => {
    failing = true;
    if (ev && !superseded) {
      const code = codeForClose(ev.code);
      if (code) stop(code, ev.reason, { closeCode: ev.code });
    }
    queueMicrotask(o.onChange);
  });
  provider.on("connection-error", (ev) => {
    failing = true;
    // `ws` reports a refused upgrade as "Unexpected server response: 401"; browsers say nothing.
    const m = /Unexpected server response: (\d{3})/.exec(String((ev as { message?: unknown }).message ?? ""));
    const code = m ? codeForHttpStatus(Number(m[1])) : undefined;
    if (code) stop(code, "", { httpStatus: Number(m![1]) });
    queueMicrotask(o.onChange);
  });
  provider.connect();

  return {
    room: o.room,
    awareness,
    get state() {
      return state;
    },
    get synced() {
      return provider.synced;
    },
    get stopped() {
      return stopped;
    },
    get failing() {
      return failing || stopped !== undefined;
    },
    roundTrip: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        const ws = provider.ws;
        if (provider.wsconnected && ws && ws.readyState === ws.OPEN) {
          ws.send(encodeSyncStep1(Y.encodeStateVector(o.doc)));
        }
        // Otherwise the step 2 that follows the next (re)connection resolves it.
      }),
    reconnect(token) {
      stopped = undefined;
      const ws = provider.ws;
      if (token !== undefined) {
        provider.params = { token };
        // A socket opened with the old token is replaced; its close must not count as a refusal.
        if (ws !== null) {
          superseded = true;
          ws.close();
        }
      } else if (ws !== null && ws.readyState !== ws.OPEN) superseded = true;
      provider.connect();
    },
    disconnect: () => provider.disconnect(),
    destroy() {
      unshareExit();
      provider.destroy();
      if (ownAwareness) awareness.destroy();
      waiters.splice(0);
    },
  };
};
