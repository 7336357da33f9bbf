/** The default clock for TTFT and total time. */
export const defaultNow = (): number => performance.now();

/** The request body as bytes: every SDK passes a Uint8Array through verbatim (no re-serialization). */
export const bodyBytes = (body: string): Uint8Array => new TextEncoder().encode(body);

export const JSON_HEADERS = { "content-type": "application/json" } as const;
