import { canonicalJson, type JsonValue } from "@ctxsync/core";
import { providerError } from "./errors.js";

/**
 * Byte-exact edits of a compiled JSON body. A transport changes at most two things in the bytes
 * compile produced: the stream switch (`stream`, `stream_options`) and, for warm-ups, the output
 * limit. Every other byte stays where it was, so the prefix a warm call writes is the prefix the
 * real call reads. A new member goes where compile would have put it had the caller set it in
 * `params`: among the leading request parameters, in key order, before the layout members
 * (tools, system, messages...) — tests check this against compile's own output.
 */

interface Member {
  readonly key: string;
  /** Index of the key's opening quote. */
  readonly start: number;
  readonly valueStart: number;
  /** Index just past the value. */
  readonly end: number;
}

const bad = (msg: string) => providerError("bad-request", `compiled body: ${msg}`);

const skipWs = (s: string, i: number): number => {
  while (i < s.length && (s[i] === " " || s[i] === "\n" || s[i] === "\r" || s[i] === "\t")) i++;
  return i;
};

const skipString = (s: string, i: number): number => {
  // s[i] is the opening quote
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === "\\") j++;
    else if (c === '"') return j + 1;
  }
  throw bad("unterminated string");
};

/** Index just past the JSON value starting at i (no validation beyond structure). */
const skipValue = (s: string, i: number): number => {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') j = skipString(s, j) - 1;
      else if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw bad("unbalanced brackets");
  }
  let j = i;
  while (j < s.length && !",}] \n\r\t".includes(s[j]!)) j++;
  if (j === i) throw bad(`unexpected ${JSON.stringify(s[i] ?? "end of text")} at ${i}`);
  return j;
};

/** The members of the object starting at `open` (index of its `{`). */
const members = (s: string, open: number): { list: Member[]; close: number } => {
  if (s[open] !== "{") throw bad("not a JSON object");
  const list: Member[] = [];
  let i = skipWs(s, open + 1);
  if (s[i] === "}") return { list, close: i };
  for (;;) {
    if (s[i] !== '"') throw bad(`expected a key at ${i}`);
    const keyEnd = skipString(s, i);
    const key = JSON.parse(s.slice(i, keyEnd)) as string;
    let j = skipWs(s, keyEnd);
    if (s[j] !== ":") throw bad(`expected ':' at ${j}`);
    const valueStart = skipWs(s, j + 1);
    const end = skipValue(s, valueStart);
    list.push({ key, start: i, valueStart, end });
    j = skipWs(s, end);
    if (s[j] === "}") return { list, close: j };
    if (s[j] !== ",") throw bad(`expected ',' or '}' at ${j}`);
    i = skipWs(s, j + 1);
  }
};

const member = (key: string, value: JsonValue): string => `${JSON.stringify(key)}:${canonicalJson(value)}`;

/**
 * Set `key` of the object at `open` to `value`: replace the value bytes if the member exists, else
 * insert the member in key order among the members before the first of `layoutKeys`.
 */
const setIn = (s: string, open: number, key: string, value: JsonValue, layoutKeys: readonly string[]): string => {
  const { list, close } = members(s, open);
  const existing = list.find((m) => m.key === key);
  if (existing) return s.slice(0, existing.valueStart) + canonicalJson(value) + s.slice(existing.end);
  const firstLayout = list.findIndex((m) => layoutKeys.includes(m.key));
  const params = firstLayout < 0 ? list : list.slice(0, firstLayout);
  const text = member(key, value);
  const before = params.find((m) => m.key > key);
  if (before) return `${s.slice(0, before.start)}${text},${s.slice(before.start)}`;
  const last = params.at(-1);
  if (last) return `${s.slice(0, last.end)},${text}${s.slice(last.end)}`;
  const next = list[0];
  if (next) return `${s.slice(0, next.start)}${text},${s.slice(next.start)}`;
  return `${s.slice(0, close)}${text}${s.slice(close)}`;
};

/** The object member path → value, or undefined. Parses only the members on the path. */
export const getMember = (body: string, path: readonly string[]): JsonValue | undefined => {
  let open = skipWs(body, 0);
  for (let p = 0; p < path.length; p++) {
    const m = members(body, open).list.find((x) => x.key === path[p]);
    if (!m) return undefined;
    if (p === path.length - 1) return JSON.parse(body.slice(m.valueStart, m.end)) as JsonValue;
    open = m.valueStart;
    if (body[open] !== "{") return undefined;
  }
  return undefined;
};

/**
 * Set the member at `path` (one or two keys) to `value`, changing nothing else. A missing parent
 * object is inserted as `{key: value}`. `layoutKeys` are the top-level members compile writes
 * after the request parameters (new top-level members go before them).
 */
export const setMember = (body: string, path: readonly [string] | readonly [string, string], value: JsonValue, layoutKeys: readonly string[]): string => {
  const open = skipWs(body, 0);
  if (path.length === 1) return setIn(body, open, path[0], value, layoutKeys);
  const [outer, inner] = path;
  const parent = members(body, open).list.find((m) => m.key === outer);
  if (!parent) return setIn(body, open, outer, { [inner]: value }, layoutKeys);
  if (body[parent.valueStart] !== "{") throw bad(`${outer} is not an object`);
  return setIn(body, parent.valueStart, inner, value, []);
};
