import { importMessages, MAIN, type ConversationLog, type Rng, type TranscriptMessage, type TranscriptToolCall } from "@ctxsync/core";

/**
 * A seeded generator of realistic agent traces, in the JSONL format of `../shared/traces`
 * (one OpenAI-style message per line: `{role, content, tool_calls?: [{id, name, arguments}],
 * tool_call_id?, reasoning_content?}`), so that a clone with nothing beside it can run every test
 * and example on data the project makes. Shaped after the real corpus: long system prompts (one
 * style with the current time in it, as tau-bench's), task statements of several KB, assistant
 * turns that call 1–3 tools with JSON argument text (sometimes pretty-printed or with keys out of
 * order, as models emit it), long tool outputs (file listings, code, test logs with `\r\n`, tabs
 * and non-ASCII), reasoning on some turns, frameworks that act through text (observations as user
 * messages), and conversations with several branches (forks that continue a shared prefix).
 */

export type TraceStyle = "tool-calls" | "text-actions" | "reasoning" | "customer-service";
export const TRACE_STYLES: readonly TraceStyle[] = ["tool-calls", "text-actions", "reasoning", "customer-service"];

export interface TraceOptions {
  readonly style?: TraceStyle;
  /** Assistant turns (default 8..40). */
  readonly turns?: number;
  /** Longest tool output in characters (default 30,000, as in the corpus). */
  readonly maxToolOutput?: number;
}

/** A conversation with branches: `main` is one JSONL trace; each fork continues `main`'s first `at` messages. */
export interface GeneratedConversation {
  readonly name: string;
  readonly style: TraceStyle;
  readonly main: TranscriptMessage[];
  readonly forks: ReadonlyArray<{ readonly name: string; readonly at: number; readonly messages: TranscriptMessage[] }>;
}

const FILES = ["src/index.ts", "src/parser.py", "lib/utils/format.js", "tests/test_models.py", "README.md", "setup.cfg", "docs/conf.py", "pkg/server/handler.go"];
const WORDS =
  "the a model request cache branch device token prefix file test error value function returns should when with from into after before update separability matrix compound nested result expected actual line column parser fails passes".split(
    " ",
  );
const EXOTIC = ["naïve", "café", "日本語", "Ω≈ç√", "🙂", "“quoted”", "tab\there", "back\\slash"];

const words = (rng: Rng, min: number, max: number): string => {
  const n = rng.int(min, max);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rng.chance(0.03) ? rng.pick(EXOTIC) : rng.pick(WORDS));
  return out.join(" ");
};
const sentences = (rng: Rng, n: number): string => Array.from({ length: n }, () => `${words(rng, 4, 16)}.`).join(" ");
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const toolCallId = (rng: Rng, style: TraceStyle): string => {
  const prefix = style === "reasoning" ? "call_0_" : rng.chance(0.5) ? "call_" : "toolu_";
  let s = "";
  for (let i = 0; i < 24; i++) s += idChars[rng.int(0, idChars.length - 1)];
  return prefix + s;
};

const codeBlock = (rng: Rng, lines: number): string =>
  Array.from({ length: lines }, (_, i) => {
    const indent = "    ".repeat(rng.int(0, 3));
    return rng.chance(0.2) ? `${indent}# ${words(rng, 3, 9)}` : `${indent}${rng.pick(WORDS)}_${i} = ${rng.pick(WORDS)}(${rng.int(0, 99)}, "${words(rng, 1, 3)}")`;
  }).join("\n");

/** A tool's output: listings, file contents, test logs; long ones are what makes prompt caching matter. */
const toolOutput = (rng: Rng, max: number): string => {
  const kind = rng.int(0, 3);
  let out: string;
  if (kind === 0) out = Array.from({ length: rng.int(3, 60) }, () => `${rng.pick(FILES).replace(/\w+\./, `${rng.pick(WORDS)}_${rng.int(0, 9)}.`)}\t${rng.int(0, 90000)}`).join("\r\n");
  else if (kind === 1) out = codeBlock(rng, rng.int(5, 400));
  else if (kind === 2)
    out = [
      `============================= test session starts ==============================`,
      ...Array.from({ length: rng.int(2, 200) }, (_, i) => `tests/test_${rng.pick(WORDS)}.py::test_${i} ${rng.chance(0.85) ? "PASSED" : "FAILED"}`),
      `E   AssertionError: ${words(rng, 3, 10)}`,
      `========================= ${rng.int(1, 9)} failed, ${rng.int(10, 300)} passed in ${rng.int(1, 90)}.${rng.int(10, 99)}s =========================`,
    ].join("\n");
  else out = JSON.stringify({ status: rng.pick(["ok", "available", "cancelled"]), id: toolCallId(rng, "tool-calls").slice(-10), items: Array.from({ length: rng.int(0, 8) }, () => words(rng, 1, 4)) });
  return out.length > max ? out.slice(0, max) : out;
};

/** Argument text as models emit it: compact JSON, sometimes pretty-printed or with keys in another order. */
const argumentsText = (rng: Rng, args: Record<string, unknown>): string => {
  if (rng.chance(0.15)) return JSON.stringify(args, null, 2);
  if (rng.chance(0.1)) return JSON.stringify(Object.fromEntries(Object.entries(args).reverse()));
  return JSON.stringify(args);
};

const TOOLS: Record<TraceStyle, readonly string[]> = {
  "tool-calls": ["str_replace_editor", "execute_bash", "think", "finish"],
  reasoning: ["bash"],
  "customer-service": ["get_user_details", "get_reservation_details", "search_direct_flight", "update_reservation_flights", "transfer_to_human_agents"],
  "text-actions": [],
};

const callArgs = (rng: Rng, name: string): Record<string, unknown> => {
  switch (name) {
    case "str_replace_editor":
      return { command: rng.pick(["view", "str_replace", "create"]), path: `/workspace/${rng.pick(FILES)}`, ...(rng.chance(0.5) ? { old_str: codeBlock(rng, 2), new_str: codeBlock(rng, 3) } : {}) };
    case "execute_bash":
    case "bash":
      return { command: rng.pick(["ls -la", "python -m pytest -x", "grep -rn", "cat", "git diff"]) + ` ${rng.pick(FILES)}` };
    case "think":
      return { thought: sentences(rng, rng.int(1, 4)) };
    case "finish":
      return {};
    default:
      return { user_id: `${rng.pick(WORDS)}_${rng.pick(WORDS)}_${rng.int(1000, 9999)}`, ...(rng.chance(0.5) ? { reservation_id: rng.id(6).toUpperCase() } : {}) };
  }
};

const systemPrompt = (rng: Rng, style: TraceStyle): string => {
  if (style === "customer-service")
    return `# Airline Agent Policy\n\nThe current time is 2024-05-15 15:00:00 EST.\n\n${Array.from({ length: rng.int(10, 30) }, () => `- ${sentences(rng, rng.int(1, 3))}`).join("\n\n")}`;
  if (style === "text-actions")
    return `SETTING: You are an autonomous programmer working in a command line interface.\n\nCOMMANDS:\n${Array.from({ length: 12 }, (_, i) => `${rng.pick(WORDS)}_${i}:\n  docstring: ${words(rng, 5, 14)}\n  signature: ${rng.pick(WORDS)} <arg>`).join("\n")}`;
  if (style === "reasoning") return "You are a helpful assistant that can interact with a computer shell to solve programming tasks.";
  return `You are OpenHands agent, a helpful AI assistant that can interact with a computer to solve tasks.\n<IMPORTANT>\n* ${sentences(rng, rng.int(4, 12))}\n</IMPORTANT>`;
};

const task = (rng: Rng, style: TraceStyle): string =>
  style === "customer-service"
    ? `Hi, ${words(rng, 4, 12)}. My user id is ${rng.pick(WORDS)}_${rng.int(1000, 9999)}.`
    : `<pr_description>\n${sentences(rng, rng.int(3, 12))}\n\n\`\`\`python\n${codeBlock(rng, rng.int(5, 40))}\n\`\`\`\r\n${sentences(rng, rng.int(2, 8))}\n</pr_description>`;

/** One agent trace (a linear JSONL transcript). */
export const generateTrace = (rng: Rng, opts: TraceOptions = {}): TranscriptMessage[] => {
  const style = opts.style ?? rng.pick(TRACE_STYLES);
  const turns = opts.turns ?? rng.int(8, 40);
  const max = opts.maxToolOutput ?? 30_000;
  const out: TranscriptMessage[] = [
    { role: "system", content: systemPrompt(rng, style) },
    { role: "user", content: task(rng, style) },
  ];
  for (let t = 0; t < turns; t++) out.push(...continuation(rng, style, max, t === turns - 1));
  return out;
};

/** One more step of the agent loop: an assistant turn and what answers it. */
const continuation = (rng: Rng, style: TraceStyle, max: number, last: boolean): TranscriptMessage[] => {
  if (style === "text-actions") {
    const msgs: TranscriptMessage[] = [{ role: "assistant", content: `DISCUSSION\n${sentences(rng, rng.int(1, 4))}\n\n\`\`\`\n${rng.pick(["open", "edit", "search_dir", "python"])} ${rng.pick(FILES)}\n\`\`\`` }];
    if (!last) msgs.push({ role: "user", content: `${toolOutput(rng, max)}\n(Open file: ${rng.pick(FILES)})\n(Current directory: /workspace)\nbash-$` });
    return msgs;
  }
  if (style === "customer-service" && rng.chance(0.3)) {
    // A turn of the (simulated) user between tool work.
    return [{ role: "assistant", content: sentences(rng, rng.int(1, 5)) }, ...(last ? [] : [{ role: "user" as const, content: sentences(rng, rng.int(1, 3)) }])];
  }
  const n = last ? 0 : rng.chance(0.85) ? (rng.chance(0.8) ? 1 : rng.int(2, 3)) : 0;
  const calls: TranscriptToolCall[] = Array.from({ length: n }, () => {
    const name = rng.pick(TOOLS[style]);
    return { id: toolCallId(rng, style), name, arguments: argumentsText(rng, callArgs(rng, name)) };
  });
  const assistant: TranscriptMessage = {
    role: "assistant",
    content: calls.length > 0 && rng.chance(0.6) ? "" : sentences(rng, rng.int(1, 6)),
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
    ...(style === "reasoning" && rng.chance(0.7) ? { reasoning_content: sentences(rng, rng.int(2, 10)) } : {}),
  };
  const results: TranscriptMessage[] = calls.map((c) => ({ role: "tool", content: toolOutput(rng, max), tool_call_id: c.id }));
  // Without a tool call the loop needs the user (or the harness) to go on.
  const next: TranscriptMessage[] = calls.length === 0 && !last ? [{ role: "user", content: sentences(rng, rng.int(1, 3)) }] : [];
  return [assistant, ...results, ...next];
};

/** A conversation with several branches: a main trace and `forks` that continue a prefix of it differently. */
export const generateConversation = (rng: Rng, opts: TraceOptions & { readonly name?: string; readonly forks?: number } = {}): GeneratedConversation => {
  const style = opts.style ?? rng.pick(TRACE_STYLES);
  const main = generateTrace(rng, { ...opts, style });
  const forks = Array.from({ length: opts.forks ?? rng.int(1, 3) }, (_, i) => {
    // Fork after a finished step (a complete tool answer, or an assistant reply without a tool
    // call), as a person retrying from there would: `at` messages are shared.
    const ends = main
      .map((m, k) => k)
      .filter((k) => k >= 2 && ((main[k]!.role === "tool" && main[k + 1]?.role !== "tool") || (main[k]!.role === "assistant" && !main[k]!.tool_calls)));
    const at = rng.pick(ends.length > 0 ? ends : [main.length - 1]) + 1;
    const messages: TranscriptMessage[] = [{ role: "user", content: `Let's try another way: ${sentences(rng, rng.int(1, 3))}` }];
    for (let t = rng.int(1, 6); t > 0; t--) messages.push(...continuation(rng, style, opts.maxToolOutput ?? 30_000, t === 1));
    return { name: `alt-${i + 1}`, at, messages };
  });
  return { name: opts.name ?? `generated-${style}`, style, main, forks };
};

/** Messages as JSONL text, one message per line. */
export const toJsonl = (messages: readonly TranscriptMessage[]): string => messages.map((m) => JSON.stringify(m)).join("\n") + "\n";

/** `count` traces, the styles in turn, each from its own stream of `seed` (adding one does not change the others). */
export const generateCorpus = (rng: Rng, count: number, opts: TraceOptions = {}): Array<{ readonly name: string; readonly style: TraceStyle; readonly messages: TranscriptMessage[] }> =>
  Array.from({ length: count }, (_, i) => {
    const style = TRACE_STYLES[i % TRACE_STYLES.length]!;
    return { name: `${style}/generated-${String(i).padStart(3, "0")}`, style, messages: generateTrace(rng.fork(), { ...opts, style }) };
  });

/**
 * Import a generated conversation into a log: `main` on branch main, then each fork as a branch
 * forked at the last message it shares with main. Returns the branch names.
 */
export const importConversation = (log: ConversationLog, c: GeneratedConversation): string[] => {
  importMessages(log, c.main);
  const entries = log.transcript(MAIN);
  const skip = c.main[0]?.role === "system" ? 1 : 0; // the system prompt is info, not an entry
  const names: string[] = [MAIN];
  for (const f of c.forks) {
    const at = entries[f.at - 1 - skip];
    if (!at) continue;
    const branch = log.fork(at.id, f.name);
    importMessages(log, f.messages, { branch });
    names.push(branch);
  }
  return names;
};
