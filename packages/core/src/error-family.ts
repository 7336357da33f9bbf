/**
 * One error type per package family: an `Error` whose `name` names the family and whose `code`
 * says what went wrong. Each family (CoreError, SyncError, CompileError...) is made here so that
 * the factory, the type guard and the boundary conversion are written once.
 */
export interface FamilyError<N extends string, C extends string> extends Error {
  readonly name: N;
  readonly code: C;
  readonly details?: Record<string, unknown>;
}

export interface ErrorFamily<N extends string, C extends string> {
  /** A new error of this family. */
  readonly make: (code: C, message: string, details?: Record<string, unknown>) => FamilyError<N, C>;
  readonly is: (e: unknown) => e is FamilyError<N, C>;
  /** Convert anything thrown (at a package boundary), keeping this family's errors as they are. */
  readonly from: (e: unknown, code: C) => FamilyError<N, C>;
}

export const errorFamily = <N extends string, C extends string>(name: N): ErrorFamily<N, C> => {
  const make = (code: C, message: string, details?: Record<string, unknown>): FamilyError<N, C> => {
    const err = new Error(message) as Error & { code: C; details?: Record<string, unknown> };
    err.name = name;
    err.code = code;
    if (details !== undefined) err.details = details;
    return err as FamilyError<N, C>;
  };
  const is = (e: unknown): e is FamilyError<N, C> =>
    e instanceof Error && e.name === name && typeof (e as { code?: unknown }).code === "string";
  return {
    make,
    is,
    from: (e, code) => (is(e) ? e : make(code, e instanceof Error ? e.message : String(e), { cause: e })),
  };
};
