/**
 * Yjs client ids of ctxsync servers. The stock y-websocket client (and every Yjs document) draws its
 * client id from the 32-bit range; ids from 2^32 up are reserved for server instances, so that every
 * replica can tell a server's writes (its correcting writes, reconciler branches, REST changes) from a
 * device's without any other channel. Yjs encodes client ids as variable-length integers up to 2^53.
 *
 * Every replica refuses new structs under its own client id (`own-client-id`), so a server's current
 * id is written by that server alone. Structs under other server ids (another instance's, or this
 * server's from before a restart, relayed by a device) are judged like any other write, except that a
 * value written under a server id may replace one it does not descend from: that is what a server's
 * correcting write does (see keep-held.ts). A server judges every device's write by its net effect and
 * corrects it, so a device gains nothing by writing under a server id.
 */
export const SERVER_CLIENT_ID_BASE = 2 ** 32;
const SPAN = 2 ** 48;

export const isServerClientId = (client: number): boolean => client >= SERVER_CLIENT_ID_BASE;

/** A fresh server client id (one per server process): 2^32 + a random 48-bit number. */
export const newServerClientId = (random: () => number = Math.random): number => {
  const bytes = new Uint32Array(2);
  if (random === Math.random && typeof globalThis.crypto?.getRandomValues === "function") {
    globalThis.crypto.getRandomValues(bytes);
    return SERVER_CLIENT_ID_BASE + (bytes[0]! % 2 ** 16) * 2 ** 32 + bytes[1]!;
  }
  return SERVER_CLIENT_ID_BASE + Math.floor(random() * SPAN);
};
