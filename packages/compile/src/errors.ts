/** The one error type of the compile package; `code` says what went wrong. */
export type CompileErrorCode =
  | "invalid-context" // the render context cannot be rendered (unknown provider, bad tool list, bad option)
  | "invalid-transcript" // the transcript is not a path (an entry's parent is not the entry before it)
  | "internal";

export interface CompileError extends Error {
  readonly name: "CompileError";
  readonly code: CompileErrorCode;
  readonly details?: Record<string, unknown>;
}

export const compileError = (code: CompileErrorCode, message: string, details?: Record<string, unknown>): CompileError => {
  const err = new Error(message) as Error & { code: CompileErrorCode; details?: Record<string, unknown> };
  err.name = "CompileError";
  err.code = code;
  if (details !== undefined) err.details = details;
  return err as CompileError;
};

export const isCompileError = (e: unknown): e is CompileError =>
  e instanceof Error && e.name === "CompileError" && typeof (e as { code?: unknown }).code === "string";

/** Convert anything thrown into a CompileError (used at the package boundary: `compile`). */
export const toCompileError = (e: unknown): CompileError =>
  isCompileError(e) ? e : compileError("internal", e instanceof Error ? e.message : String(e), { cause: e });
