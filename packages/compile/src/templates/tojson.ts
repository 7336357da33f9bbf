import type { JsonValue } from "@ctxsync/core";

/**
 * JSON as the chat templates' `tojson` filter writes it (`@huggingface/jinja`, which follows
 * Python's `json.dumps(ensure_ascii=False)`): `", "` and `": "` separators, or one member per line
 * with `indent`; keys in the object's own order; strings escaped as JSON.stringify does.
 */
export const tojson = (v: JsonValue, indent?: number, depth = 0): string => {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  const pad = indent === undefined ? "" : `\n${" ".repeat(indent * (depth + 1))}`;
  const close = indent === undefined ? "" : `\n${" ".repeat(indent * depth)}`;
  const sep = indent === undefined ? ", " : ",";
  if (Array.isArray(v)) return v.length === 0 ? "[]" : `[${v.map((x) => pad + tojson(x, indent, depth + 1)).join(sep)}${close}]`;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  return keys.length === 0 ? "{}" : `{${keys.map((k) => `${pad}${JSON.stringify(k)}: ${tojson(v[k]!, indent, depth + 1)}`).join(sep)}${close}}`;
};

/** A copy with every object's keys in sorted order (deterministic whatever order the caller used). */
export const sortKeys = (v: JsonValue): JsonValue => {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(sortKeys);
  const out: Record<string, JsonValue> = {};
  for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sortKeys(v[k]!);
  return out;
};
