import { errorFamily, type FamilyError } from "@ctxsync/core";

/** The one error type of the compile package; `code` says what went wrong. */
export type CompileErrorCode =
  | "invalid-context" // the render context cannot be rendered (unknown provider, bad tool list, bad option)
  | "invalid-transcript" // the transcript is not a path (an entry's parent is not the entry before it)
  | "internal";

export type CompileError = FamilyError<"CompileError", CompileErrorCode>;

const family = errorFamily<"CompileError", CompileErrorCode>("CompileError");

export const compileError = family.make;
export const isCompileError = family.is;
/** Convert anything thrown into a CompileError (used at the package boundary: `compile`). */
export const toCompileError = (e: unknown): CompileError => family.from(e, "internal");
