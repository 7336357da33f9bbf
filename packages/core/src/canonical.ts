import { coreError } from "./errors.js";
import type { JsonValue } from "./json.js";

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers in
 * ECMAScript shortest form (as JCS, RFC 8785), strings escaped by JSON.stringify (which
 * escapes lone surrogates, so the UTF-8 bytes are lossless). `undefined` members are dropped.
 * The same value always gives the same bytes; this is what prefix hashes are computed over.
 */
export const canonicalJson = (value: unknown): string => {
  const out: string[] = [];
  write(value, out, 0);
  return out.join("");
};

const MAX_DEPTH = 256;

const write = (v: unknown, out: string[], depth: number): void => {
  if (depth > MAX_DEPTH) throw coreError("invalid-json", "value nested too deeply for canonical JSON");
  switch (typeof v) {
    case "string":
      out.push(JSON.stringify(v));
      return;
    case "number":
      if (!Number.isFinite(v)) throw coreError("invalid-json", `non-finite number ${v} has no JSON form`);
      out.push(Object.is(v, -0) ? "0" : String(v));
      return;
    case "boolean":
      out.push(v ? "true" : "false");
      return;
    case "object": {
      if (v === null) {
        out.push("null");
        return;
      }
      if (Array.isArray(v)) {
        out.push("[");
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(",");
          const item: unknown = v[i];
          write(item === undefined ? null : item, out, depth + 1);
        }
        out.push("]");
        return;
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      out.push("{");
      keys.forEach((k, i) => {
        if (i > 0) out.push(",");
        out.push(JSON.stringify(k), ":");
        write(obj[k], out, depth + 1);
      });
      out.push("}");
      return;
    }
    default:
      throw coreError("invalid-json", `a ${typeof v} has no JSON form`);
  }
};

/** Parse JSON text; a clear CoreError instead of a SyntaxError. */
export const parseJson = (text: string): JsonValue => {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw coreError("invalid-json", `invalid JSON: ${(e as Error).message}`);
  }
};

/** Is `text` exactly the canonical form of the value it denotes? */
export const isCanonicalJsonText = (text: string): boolean => {
  try {
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
};
