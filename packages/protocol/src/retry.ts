import type { SyncErrorCode } from "./errors.js";

/**
 * Which refusals are final. After these, reconnecting cannot help: the same token or the same
 * pending update would be refused again. Everything else (shutting down, storage unavailable,
 * rate limited, internal, network loss) is transient: reconnect with backoff. The stock client
 * alone would reconnect in a loop on some of these (it only stops on 4400–4499) and wrongly stop
 * on 4429 rate-limited.
 */
export const PERMANENT_CODES: ReadonlySet<SyncErrorCode> = new Set<SyncErrorCode>([
  "unauthorized",
  "token-expired",
  "forbidden",
  "not-found",
  "bad-request",
  "conflict",
  "append-only-violation",
  "malformed-message",
  "message-too-large",
  "document-too-large",
]);

export const isPermanent = (code: SyncErrorCode): boolean => PERMANENT_CODES.has(code);

/**
 * The error code of a refused WebSocket upgrade's HTTP status (`ws` in Node reports it as
 * "Unexpected server response: 401"; browsers cannot see it).
 */
const FROM_HTTP: Readonly<Record<number, SyncErrorCode>> = {
  400: "bad-request",
  401: "unauthorized",
  403: "forbidden",
  404: "not-found",
  413: "message-too-large",
  429: "rate-limited",
  503: "shutting-down",
};
export const codeForHttpStatus = (status: number): SyncErrorCode | undefined => FROM_HTTP[status];

/** A one-line explanation for a close that came without a reason. */
const DEFAULT_MESSAGES: Partial<Record<SyncErrorCode, string>> = {
  unauthorized: "the server refused the token",
  "token-expired": "the token has expired",
  forbidden: "the token does not allow this document",
  "append-only-violation": "the server refused an update that would change or delete existing entries",
  "message-too-large": "an update is larger than the server accepts",
  "document-too-large": "the document has reached the server's size limit",
  "rate-limited": "the server is rate-limiting this connection",
  "shutting-down": "the server is shutting down",
};
export const describeCode = (code: SyncErrorCode): string => DEFAULT_MESSAGES[code] ?? code;
