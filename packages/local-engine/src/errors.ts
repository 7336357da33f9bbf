/**
 * The one error type of this package. `code` says what went wrong so that callers
 * (the HTTP layer, replay) can branch on it without parsing messages.
 */
export type EngineErrorCode =
  | "bad-request" // the request is malformed or asks for something impossible
  | "model-mismatch" // a saved state belongs to another model file
  | "config-mismatch" // a saved state was made by an engine with another slot count (llama.cpp's KV stream layout)
  | "state-not-found" // no saved state under that name / prefix hash
  | "bad-state-file" // the state file or its sidecar is missing, corrupt or inconsistent
  | "context-overflow" // prompt + output would not fit in a slot
  | "slot-not-found" // no slot with that id
  | "model-load-failed" // node-llama-cpp could not load the model
  | "gguf-invalid"; // the GGUF writer was given something it cannot encode

export interface EngineError extends Error {
  readonly name: "EngineError";
  readonly code: EngineErrorCode;
}

export function engineError(code: EngineErrorCode, message: string, cause?: unknown): EngineError {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & {
    code: EngineErrorCode;
  };
  err.name = "EngineError";
  err.code = code;
  return err as EngineError;
}

export function isEngineError(value: unknown): value is EngineError {
  return value instanceof Error && value.name === "EngineError" && typeof (value as { code?: unknown }).code === "string";
}

/** HTTP status for each code, so the server maps errors in one place. */
export function httpStatusFor(code: EngineErrorCode): 400 | 404 | 409 | 413 | 500 {
  switch (code) {
    case "bad-request":
    case "bad-state-file":
    case "gguf-invalid":
      return 400;
    case "state-not-found":
    case "slot-not-found":
      return 404;
    case "model-mismatch":
    case "config-mismatch":
      return 409;
    case "context-overflow":
      return 413;
    case "model-load-failed":
      return 500;
  }
}
