import { createHmac, randomBytes } from "node:crypto";

/** cyrb53: a fast 53-bit string hash (for segment keys; collisions are irrelevant at simulation scale). */
export const hash53 = (s: string, seed = 0): number => {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
};

/**
 * Signs opaque blobs the way a provider does (HMAC-SHA256 under a per-simulator secret): a blob
 * sent back is accepted only if it is byte-for-byte one the simulator issued.
 */
export interface Signer {
  sign(payload: string): string;
  /** The payload of a token made by `sign`, or undefined when it was not (or was altered). */
  open(token: string): string | undefined;
  /** An id like the provider's (`prefix_` + hex), unique per simulator. */
  id(prefix: string): string;
}

export const createSigner = (secret: string = randomBytes(16).toString("hex")): Signer => {
  let n = 0;
  const mac = (s: string) => createHmac("sha256", secret).update(s).digest("base64url");
  return {
    sign: (payload) => {
      const body = Buffer.from(payload, "utf8").toString("base64url");
      return `${body}.${mac(body)}`;
    },
    open: (token) => {
      const dot = token.lastIndexOf(".");
      if (dot <= 0) return undefined;
      const body = token.slice(0, dot);
      if (mac(body) !== token.slice(dot + 1)) return undefined;
      return Buffer.from(body, "base64url").toString("utf8");
    },
    id: (prefix) => `${prefix}_${createHmac("sha256", secret).update(String(++n)).digest("hex").slice(0, 24)}`,
  };
};
