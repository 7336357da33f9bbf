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

export interface CoreError extends Error {
  readonly name: "CoreError";
  readonly code: CoreErrorCode;
  readonly details?: Record<string, unknown>;
}

export const coreError = (
  code: CoreErrorCode,
  message: string,
  details?: Record<string, unknown>,
): CoreError => {
  const err = new Error(message) as Error & { code: CoreErrorCode; details?: Record<string, unknown> };
  err.name = "CoreError";
  err.code = code;
  if (details !== undefined) err.details = details;
  return err as CoreError;
};

export const isCoreError = (e: unknown): e is CoreError =>
  e instanceof Error && e.name === "CoreError" && typeof (e as { code?: unknown }).code === "string";

/** Convert anything thrown into a CoreError, keeping CoreErrors as they are (used at package boundaries). */
export const toCoreError = (e: unknown, code: CoreErrorCode = "internal"): CoreError =>
  isCoreError(e) ? e : coreError(code, e instanceof Error ? e.message : String(e), { cause: e });
