import { utf8 } from "@ctxsync/core";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { syncError } from "./errors.js";
import { isScope, type Scope } from "./scopes.js";

/**
 * Signed tokens: compact JWS (a JWT) with HS256. Claims: `conv` (a conversation id, or "*" for
 * all), `scopes`, `exp` and `iat` (seconds), optional `sub` (who). Verified with a constant-time
 * comparison; `alg` must be HS256 (no `none`, no key confusion).
 */
export interface TokenClaims {
  readonly conv: string;
  readonly scopes: readonly Scope[];
  readonly exp: number;
  readonly iat: number;
  readonly sub?: string;
}

const dec = new TextDecoder();

const b64url = (bytes: Uint8Array): string => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};
const fromB64url = (s: string): Uint8Array => {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error("bad base64url");
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};
const mac = (secret: string, data: string) => hmac(sha256, utf8(secret), utf8(data));
const equal = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
};

const HEADER = b64url(utf8(JSON.stringify({ alg: "HS256", typ: "JWT" })));

export interface SignOptions {
  readonly conversation: string;
  readonly scopes: readonly Scope[];
  /** Lifetime in seconds (default one hour). */
  readonly ttlSeconds?: number;
  readonly subject?: string;
  /** Seconds since the epoch; default now. */
  readonly now?: number;
}

export const signToken = (secret: string, o: SignOptions): string => {
  if (!secret) throw syncError("bad-request", "a token needs a non-empty secret");
  const iat = o.now ?? Math.floor(Date.now() / 1000);
  const claims: TokenClaims = { conv: o.conversation, scopes: [...o.scopes], iat, exp: iat + (o.ttlSeconds ?? 3600), ...(o.subject ? { sub: o.subject } : {}) };
  const body = `${HEADER}.${b64url(utf8(JSON.stringify(claims)))}`;
  return `${body}.${b64url(mac(secret, body))}`;
};

/** Verify a token; throws SyncError `unauthorized` (missing, forged, malformed) or `token-expired`. */
export const verifyToken = (secret: string, token: string | null | undefined, nowSeconds = Math.floor(Date.now() / 1000)): TokenClaims => {
  if (!token) throw syncError("unauthorized", "missing token");
  const parts = token.split(".");
  if (parts.length !== 3) throw syncError("unauthorized", "malformed token");
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let claims: unknown;
  let sig: Uint8Array;
  try {
    header = JSON.parse(dec.decode(fromB64url(h)));
    claims = JSON.parse(dec.decode(fromB64url(p)));
    sig = fromB64url(s);
  } catch {
    throw syncError("unauthorized", "malformed token");
  }
  if (typeof header !== "object" || header === null || (header as { alg?: unknown }).alg !== "HS256")
    throw syncError("unauthorized", "token algorithm must be HS256");
  if (!equal(sig, mac(secret, `${h}.${p}`))) throw syncError("unauthorized", "invalid token signature");
  const c = claims as Partial<TokenClaims>;
  if (typeof c.conv !== "string" || !Array.isArray(c.scopes) || !c.scopes.every(isScope) || typeof c.exp !== "number" || typeof c.iat !== "number")
    throw syncError("unauthorized", "token claims are malformed");
  if (c.exp <= nowSeconds) throw syncError("token-expired", "token expired");
  return c as TokenClaims;
};

/**
 * The claims a token carries, read WITHOUT verifying it (only the server holds the secret). A
 * client uses it to decide which documents to open (C/hidden needs `hidden`) and to refuse writes
 * early; the server still enforces everything. Undefined when the token cannot be read.
 */
export const readTokenClaims = (token: string): Partial<TokenClaims> | undefined => {
  const part = token.split(".")[1];
  if (part === undefined || part === "") return undefined;
  try {
    const claims: unknown = JSON.parse(dec.decode(fromB64url(part)));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? (claims as Partial<TokenClaims>) : undefined;
  } catch {
    return undefined;
  }
};

/** The scopes a token claims (unverified; see `readTokenClaims`); unknown scope names are dropped. */
export const tokenScopes = (token: string): Scope[] | undefined => {
  const scopes: unknown = readTokenClaims(token)?.scopes;
  return Array.isArray(scopes) ? scopes.filter(isScope) : undefined;
};

/** Does this token grant access to `conversation`? ("*" grants all.) */
export const tokenCovers = (claims: TokenClaims, conversation: string): boolean => claims.conv === "*" || claims.conv === conversation;

/** Parse a TTL such as "90s", "15m", "1h", "7d" into seconds. */
export const parseTtl = (ttl: string): number => {
  const m = /^(\d+)\s*([smhd]?)$/.exec(ttl.trim());
  if (!m) throw syncError("bad-request", `invalid ttl ${JSON.stringify(ttl)} (use e.g. 90s, 15m, 1h, 7d)`);
  const n = Number(m[1]);
  return n * ({ "": 1, s: 1, m: 60, h: 3600, d: 86400 } as const)[m[2] as "" | "s" | "m" | "h" | "d"];
};
