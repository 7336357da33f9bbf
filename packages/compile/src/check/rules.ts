/** One structural rule of a provider's API: what it requires, quoted from its documentation or from the error users get. */
export interface RuleInfo {
  readonly id: string;
  /** The provider's documented rule, or the exact error message users report for breaking it. */
  readonly quote: string;
  /** Where the quote comes from (PROVIDERS.md, docs, the issue thread that reports the error). */
  readonly source: string;
}

/** A rule broken by a request body. */
export interface Violation {
  readonly rule: string;
  /** Where in the body: `messages[3].content[0]`, `input[7]`, `contents[2].parts[1]`, `prompt`… */
  readonly path: string;
  /** The rule's quote, and what in this body breaks it. */
  readonly message: string;
}

/** Collects violations of a provider's rules. */
export interface Violations {
  add(rule: RuleInfo, path: string, detail: string): void;
  readonly list: Violation[];
}

export const violations = (): Violations => {
  const list: Violation[] = [];
  return { list, add: (rule, path, detail) => void list.push({ rule: rule.id, path, message: `${rule.quote} — ${detail}` }) };
};

export const rule = (id: string, quote: string, source: string): RuleInfo => ({ id, quote, source });

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
