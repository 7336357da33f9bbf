import { utf8 } from "@ctxsync/core";
import type { SyncErrorCode } from "./errors.js";

/**
 * WebSocket close codes the server uses (application range 4000–4999), one per error code.
 * The close reason carries a one-line human-readable message (at most 123 bytes).
 * Mirrors HTTP statuses where one fits, so 44xx reads like 4xx.
 */
export const CLOSE_CODES = {
  "bad-request": 4400,
  unauthorized: 4401,
  "token-expired": 4402,
  forbidden: 4403,
  "not-found": 4404,
  conflict: 4409,
  "append-only-violation": 4422,
  "malformed-message": 4400,
  "message-too-large": 4413,
  "document-too-large": 4507,
  "rate-limited": 4429,
  "shutting-down": 4503,
  "storage-unavailable": 4504,
  internal: 4500,
} as const satisfies Record<SyncErrorCode, number>;

/** HTTP statuses for the same codes (REST). */
export const HTTP_STATUS = {
  "bad-request": 400,
  unauthorized: 401,
  "token-expired": 401,
  forbidden: 403,
  "not-found": 404,
  conflict: 409,
  "append-only-violation": 422,
  "malformed-message": 400,
  "message-too-large": 413,
  "document-too-large": 507,
  "rate-limited": 429,
  "shutting-down": 503,
  "storage-unavailable": 503,
  internal: 500,
} as const satisfies Record<SyncErrorCode, number>;

/** The error code a close code stands for (malformed-message shares 4400 with bad-request). */
export const codeForClose = (closeCode: number): SyncErrorCode | undefined => {
  if (closeCode === 4400) return "malformed-message";
  for (const [code, n] of Object.entries(CLOSE_CODES)) if (n === closeCode) return code as SyncErrorCode;
  return undefined;
};

/** Truncate a close reason to the 123 bytes WebSocket allows, on a character boundary. */
export const closeReason = (message: string): string => {
  if (utf8(message).length <= 123) return message;
  let s = message;
  while (utf8(s + "…").length > 123) s = s.slice(0, -1);
  return s + "…";
};
