export { asSyncError, CORE_TO_SYNC, isSyncError, syncError, toSyncError } from "./errors.js";
export type { SyncError, SyncErrorCode } from "./errors.js";
export { CLOSE_CODES, closeReason, codeForClose, HTTP_STATUS } from "./close-codes.js";
export { codeForHttpStatus, describeCode, isPermanent, PERMANENT_CODES } from "./retry.js";
export { canRead, canWrite, isScope, parseScopes, SCOPES } from "./scopes.js";
export type { Scope } from "./scopes.js";
export { parseTtl, readTokenClaims, signToken, tokenCovers, tokenScopes, verifyToken } from "./token.js";
export type { SignOptions, TokenClaims } from "./token.js";
export { docNames, parseDocName, SYNC_PATH } from "./rooms.js";
export type { DocNames } from "./rooms.js";
export {
  decodeMessage,
  encodeAwareness,
  encodeQueryAwareness,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  SYNC_STEP1,
  SYNC_STEP2,
  SYNC_UPDATE,
} from "./messages.js";
export type { Incoming } from "./messages.js";
