/**
 * The simulators' deterministic tokenizer. A token is one of:
 * - an optional leading space and 1–5 ASCII letters (longer words are several tokens),
 * - an optional leading space and 1–3 digits,
 * - an optional leading space and one other non-space character (punctuation, any non-ASCII character),
 * - a run of whitespace not followed by a letter, digit or symbol.
 * That gives roughly 4 characters per token on English text and JSON, close to the real BPE
 * tokenizers' average; it is not any provider's tokenizer, and it does not try to be.
 */
const TOKEN = / ?[A-Za-z]{1,5}| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]|\s+/gu;

export const tokenize = (text: string): string[] => text.match(TOKEN) ?? [];

export const countTokens = (text: string): number => {
  TOKEN.lastIndex = 0;
  let n = 0;
  while (TOKEN.exec(text) !== null) n++;
  TOKEN.lastIndex = 0;
  return n;
};

/** The first `n` tokens of `text`, joined back (for output limits). */
export const firstTokens = (text: string, n: number): string => tokenize(text).slice(0, Math.max(0, n)).join("");

/** `text` in pieces of `per` tokens, as a provider streams it (the pieces join back to `text`). */
export const streamPieces = (text: string, per = 4): string[] => {
  const t = tokenize(text);
  const out: string[] = [];
  for (let i = 0; i < t.length; i += per) out.push(t.slice(i, i + per).join(""));
  return out;
};
