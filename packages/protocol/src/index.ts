export { isSyncError, syncError, toSyncError } from "./errors.js";
export type { SyncError, SyncErrorCode } from "./errors.js";
export { CLOSE_CODES, closeReason, codeForClose, HTTP_STATUS } from "./close-codes.js";
export { canRead, canWrite, isScope, parseScopes, SCOPES } from "./scopes.js";
export type { Scope } from "./scopes.js";
export { parseTtl, signToken, tokenCovers, verifyToken } from "./token.js";
export type { SignOptions, TokenClaims } from "./token.js";
