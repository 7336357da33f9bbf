import { errorFamily, type FamilyError } from "./error-family.js";

/** The one error type of the core package family; `code` says what went wrong. */
export type CoreErrorCode =
  | "invalid-entry"
  | "unknown-entry"
  | "unknown-branch"
  | "invalid-branch"
  | "branch-exists"
  | "invalid-json"
  | "invalid-transcript"
  | "meta-immutable"
  | "not-canonical"
  | "internal";

export type CoreError = FamilyError<"CoreError", CoreErrorCode>;

const family = errorFamily<"CoreError", CoreErrorCode>("CoreError");

export const coreError = family.make;
export const isCoreError = family.is;
/** Convert anything thrown into a CoreError, keeping CoreErrors as they are (used at package boundaries). */
export const toCoreError = (e: unknown, code: CoreErrorCode = "internal"): CoreError => family.from(e, code);
