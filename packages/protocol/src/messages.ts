import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { syncError } from "./errors.js";

/**
 * The y-websocket wire format (y-protocols): each binary frame holds one message,
 * `varUint(type) ‖ payload`. Sync: step1 (state vector), step2 (update), update (update);
 * awareness (an awareness update); query-awareness (no payload). The auth message type (2) is
 * server-to-client only. Decoding is strict: truncated varints, lengths past the end, trailing
 * bytes and unknown types are all malformed.
 */
export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;
export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

export type Incoming =
  | { readonly type: "sync-step1"; readonly stateVector: Uint8Array }
  | { readonly type: "sync-step2"; readonly update: Uint8Array }
  | { readonly type: "sync-update"; readonly update: Uint8Array }
  | { readonly type: "awareness"; readonly update: Uint8Array }
  | { readonly type: "query-awareness" };

const malformed = (why: string) => syncError("malformed-message", `malformed message: ${why}`);

const readBytes = (d: decoding.Decoder): Uint8Array => {
  const len = decoding.readVarUint(d);
  // lib0 reads through the underlying buffer, which may be larger than the frame (pooled Buffers).
  if (len > d.arr.length - d.pos) throw malformed("length prefix runs past the end of the frame");
  const out = d.arr.slice(d.pos, d.pos + len);
  d.pos += len;
  return out;
};

export const decodeMessage = (frame: Uint8Array): Incoming => {
  if (frame.length === 0) throw malformed("empty frame");
  const d = decoding.createDecoder(frame);
  let msg: Incoming;
  try {
    const type = decoding.readVarUint(d);
    if (type === MESSAGE_SYNC) {
      const sub = decoding.readVarUint(d);
      if (sub === SYNC_STEP1) {
        const stateVector = readBytes(d);
        Y.decodeStateVector(stateVector); // throws on garbage
        msg = { type: "sync-step1", stateVector };
      } else if (sub === SYNC_STEP2) msg = { type: "sync-step2", update: readBytes(d) };
      else if (sub === SYNC_UPDATE) msg = { type: "sync-update", update: readBytes(d) };
      else throw malformed(`unknown sync message type ${sub}`);
    } else if (type === MESSAGE_AWARENESS) msg = { type: "awareness", update: readBytes(d) };
    else if (type === MESSAGE_QUERY_AWARENESS) msg = { type: "query-awareness" };
    else if (type === MESSAGE_AUTH) throw malformed("auth messages are sent by the server only");
    else throw malformed(`unknown message type ${type}`);
  } catch (e) {
    if (e instanceof Error && e.name === "SyncError") throw e;
    throw malformed(e instanceof Error ? e.message : String(e));
  }
  if (d.pos !== frame.length) throw malformed(`${frame.length - d.pos} trailing bytes after the message`);
  return msg;
};

const build = (fn: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder();
  fn(e);
  return encoding.toUint8Array(e);
};

const encodeSync = (syncType: number, data: Uint8Array) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, syncType);
    encoding.writeVarUint8Array(e, data);
  });
export const encodeSyncStep1 = (stateVector: Uint8Array) => encodeSync(SYNC_STEP1, stateVector);
export const encodeSyncStep2 = (update: Uint8Array) => encodeSync(SYNC_STEP2, update);
export const encodeSyncUpdate = (update: Uint8Array) => encodeSync(SYNC_UPDATE, update);
export const encodeAwareness = (update: Uint8Array) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, update);
  });
export const encodeQueryAwareness = () => build((e) => encoding.writeVarUint(e, MESSAGE_QUERY_AWARENESS));
