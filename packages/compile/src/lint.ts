import { canonicalJson } from "@ctxsync/core";
import { normalizeContext, type RenderContext } from "./context.js";
import type { CompileWarning } from "./warnings.js";

type VolatileCode = "volatile-timestamp" | "volatile-date" | "volatile-uuid" | "volatile-random-id";
type VolatileWarning = Extract<CompileWarning, { code: VolatileCode }>;

const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\\.?";

// Checked in this order; a later pattern never reports text an earlier one already matched.
const PATTERNS: readonly [VolatileCode, RegExp][] = [
  ["volatile-uuid", /\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b/g],
  // Date and time: 2024-05-15 15:00:00 EST, 2024-05-15T15:00Z, ...
  ["volatile-timestamp", /\b\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}|\s?[A-Z]{2,5}\b)?/g],
  ["volatile-timestamp", new RegExp(`\\b${MONTH} \\d{1,2}(?:st|nd|rd|th)?,? \\d{4},? (?:at )?\\d{1,2}:\\d{2}(?::\\d{2})?(?:\\s?[AaPp]\\.?[Mm]\\.?)?`, "g")],
  // A time of day alone: 15:00:00, 3:05 pm
  ["volatile-timestamp", /\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b|\b\d{1,2}:\d{2}\s?[AaPp]\.?[Mm]\.?(?!\w)/g],
  // Unix epoch seconds or milliseconds between 2014 and 2033.
  ["volatile-timestamp", /\b1[4-9]\d{8}(?:\d{3})?\b/g],
  ["volatile-date", /\b\d{4}[-/]\d{2}[-/]\d{2}\b|\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/g],
  ["volatile-date", new RegExp(`\\b${MONTH} \\d{1,2}(?:st|nd|rd|th)?,? \\d{4}\\b|\\b\\d{1,2} ${MONTH} \\d{4}\\b`, "g")],
  ["volatile-random-id", /[A-Za-z0-9_-]{16,}/g],
];

/** A token that looks generated: long, letters and digits interleaved (hex digests, base36/62 ids, `req_…`). */
const looksRandom = (token: string): boolean => {
  let digits = 0;
  let letters = 0;
  let switches = 0;
  let prev = "";
  for (const ch of token) {
    const cls = ch >= "0" && ch <= "9" ? "d" : /[A-Za-z]/.test(ch) ? "a" : "";
    if (cls === "d") digits++;
    else if (cls === "a") letters++;
    if (cls && prev && cls !== prev) switches++;
    if (cls) prev = cls;
  }
  return digits >= 3 && letters >= 3 && switches >= 4;
};

// The static part is the same request after request: remember the last results.
const LINT_MEMO_MAX = 256;
const lintMemo = new Map<string, VolatileWarning[]>();
const lintText = (text: string, where: "system" | "tools"): VolatileWarning[] => {
  const key = `${where}\u0000${text}`;
  let hit = lintMemo.get(key);
  if (!hit) {
    hit = scan(text, where);
    if (lintMemo.size >= LINT_MEMO_MAX) lintMemo.clear();
    lintMemo.set(key, hit);
  }
  return [...hit];
};

const scan = (text: string, where: "system" | "tools"): VolatileWarning[] => {
  const taken: [number, number][] = [];
  const out: VolatileWarning[] = [];
  for (const [code, re] of PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (taken.some(([s, e]) => start < e && end > s)) continue;
      if (code === "volatile-random-id" && !looksRandom(m[0])) continue;
      taken.push([start, end]);
      out.push({
        code,
        where,
        text: m[0],
        offset: start,
        message: `${where} contains ${code.slice("volatile-".length).replace("-", " ")} ${JSON.stringify(m[0])} at ${start}: it changes between requests and breaks the cached prefix from the first token`,
      });
    }
  }
  return out.sort((a, b) => a.offset - b.offset);
};

/**
 * Volatile content in the static part (system prompt, tool list): timestamps, dates, UUIDs,
 * random ids. Anything there that changes between requests moves the first differing byte to
 * the very start, so no turn is ever served from cache (the tau-bench system prompt puts the
 * current time there). Tool offsets index the canonical JSON of the sorted tool list.
 */
export const lintStatic = (ctx: RenderContext): VolatileWarning[] => {
  const n = normalizeContext(ctx);
  return [...(n.system !== undefined ? lintText(n.system, "system") : []), ...(n.tools.length > 0 ? lintText(canonicalJson(n.tools), "tools") : [])];
};
