import { syncError, type SyncError } from "@ctxsync/protocol";

/**
 * Which web pages may talk to this server, checked on every REST request and WebSocket upgrade.
 *
 * Browsers attach an `Origin` header to cross-origin requests and to every WebSocket handshake, and a
 * page can reach a server on the user's own machine. Without a check, an open (no-token) server on
 * loopback would hand a user's agent conversations to whatever site they visit: CORS `*` answers any
 * page, and a WebSocket is not subject to CORS at all. So:
 * - a request with an `Origin` is served only when that origin is a loopback UI (`http(s)://localhost`,
 *   `127.x.x.x` or `[::1]`, any port) or listed in `allowOrigins` (`--allow-origin`; `*` allows every
 *   origin). Requests without an `Origin` (the CLI, Node clients, curl) are not from a web page;
 * - an open server also checks `Host`: only loopback names (or `allowHosts`) are served, so a page that
 *   rebinds its own DNS name to 127.0.0.1 (DNS rebinding: its requests are then same-origin to the
 *   browser, with its own name in `Host`) is refused. With tokens, DNS rebinding gains nothing: the
 *   page has no token. (Requests without `Host` are not from a browser.)
 * Refusals are `forbidden` (HTTP 403, WebSocket close 4403), before anything is read or sent.
 */
export interface OriginPolicy {
  readonly allowOrigins: readonly string[];
  readonly allowHosts: readonly string[];
  /** The server runs without tokens: the Host check applies. */
  readonly open: boolean;
}

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** `host[:port]` → host (brackets kept for IPv6). */
const hostName = (hostHeader: string): string => {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.lastIndexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
};

/** The canonical form of an origin (`scheme://host[:port]`, lowercase, no default port), or undefined for anything else. */
export const normalizeOrigin = (origin: string): string | undefined => {
  if (origin === "null") return "null";
  try {
    const u = new URL(origin);
    if (u.origin === "null") return undefined;
    return u.origin.toLowerCase();
  } catch {
    return undefined;
  }
};

export const isLoopbackOrigin = (origin: string): boolean => {
  const n = normalizeOrigin(origin);
  if (!n || n === "null") return false;
  const u = new URL(n);
  return (u.protocol === "http:" || u.protocol === "https:") && LOOPBACK_HOST.test(u.hostname);
};

export const createOriginPolicy = (o: { allowOrigins?: readonly string[]; allowHosts?: readonly string[]; open: boolean }): OriginPolicy => {
  const allowOrigins = (o.allowOrigins ?? []).map((x) => {
    if (x === "*") return x;
    const n = normalizeOrigin(x);
    if (!n) throw syncError("bad-request", `--allow-origin ${JSON.stringify(x)} is not an origin (scheme://host[:port]) or *`);
    return n;
  });
  return { allowOrigins, allowHosts: (o.allowHosts ?? []).map((h) => hostName(h)), open: o.open };
};

/** May a page from `origin` use this server? */
export const originAllowed = (policy: OriginPolicy, origin: string): boolean => {
  if (policy.allowOrigins.includes("*")) return true;
  if (isLoopbackOrigin(origin)) return true;
  const n = normalizeOrigin(origin);
  return n !== undefined && policy.allowOrigins.includes(n);
};

/** Why a request with these headers is refused, or undefined when it may proceed. */
export const checkOrigin = (policy: OriginPolicy, headers: { origin?: string | undefined; host?: string | undefined }): SyncError | undefined => {
  // A request without Host is not from a browser (browsers always send it, rebinding pages included).
  if (policy.open && headers.host !== undefined) {
    const host = hostName(headers.host);
    if (!LOOPBACK_HOST.test(host) && !policy.allowHosts.includes(host))
      return syncError(
        "forbidden",
        `Host ${JSON.stringify(headers.host ?? "")} is not served: an open server answers loopback names only (--allow-host adds one)`,
      );
  }
  if (headers.origin !== undefined && !originAllowed(policy, headers.origin))
    return syncError("forbidden", `Origin ${JSON.stringify(headers.origin)} is not allowed (loopback pages are; --allow-origin adds one)`);
  return undefined;
};
