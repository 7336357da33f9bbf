// Test support: seeded synthetic agent histories with the traffic real multi-device, multi-provider
// sessions produce — entries logged between a tool call and its result (a user typing on another
// device, a config change, a stray result), provider switches in the middle of a tool loop, parallel
// calls, reused and foreign-format call ids, abandoned loops, empty error results, whitespace-only and
// trailing-whitespace text, text beside tool calls, lone surrogates — with each provider's hidden
// blobs on the turns it produced.
import * as Y from "yjs";
import { asDeviceId, asEntryId, openLog, type Entry, type EntryId, type EntryInput, type HiddenBlob, type JsonObject, type ToolCall } from "@ctxsync/core";
import type { ToolSpec } from "./context.js";
import { testBlob } from "./fixtures.test-util.js";

export const GEN_TOOLS: ToolSpec[] = [
  { name: "bash", description: "Run a shell command.", parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] } },
  { name: "read_file", description: "Read a file.", parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } },
  { name: "search", description: "Search the web.", parameters: { type: "object", properties: { q: { type: "string" } } } },
];
export const GEN_SYSTEM = "You are a coding agent working in a repository.";

/** The provider (and model) that produced an assistant turn; its blobs are the ones that provider hands back. */
export const PRODUCERS = [
  { provider: "anthropic", model: "claude-sonnet-4-5-20250929" },
  { provider: "openai", model: "gpt-5.4" },
  { provider: "google", model: "gemini-3-pro" },
  { provider: "deepseek", model: "deepseek-chat" },
  { provider: "local", model: "qwen3-8b" },
] as const;

export interface GeneratedHistory {
  readonly entries: readonly Entry[];
  readonly blobs: ReadonlyMap<EntryId, HiddenBlob[]>;
  /** Which producer wrote each assistant entry. */
  readonly producedBy: ReadonlyMap<EntryId, string>;
}

export interface GenerateOptions {
  /** Assistant turns to generate. */
  readonly turns?: number;
  /** OpenAI turns written the old way (reasoning items, no output-item blobs). */
  readonly oldOpenAILogs?: boolean;
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

export const generateHistory = (rand: () => number, opts: GenerateOptions = {}): GeneratedHistory => {
  let clock = 1_700_000_000_000;
  const log = openLog(new Y.Doc(), { device: asDeviceId("dlaptop"), now: () => clock++ });
  const blobs = new Map<EntryId, HiddenBlob[]>();
  const producedBy = new Map<EntryId, string>();
  let n = 0;
  // Which device logged an entry is metadata, never rendered: the interleaving is what matters.
  const append = (input: EntryInput, _device = "dlaptop", meta: { provider?: string; model?: string } = {}): Entry =>
    log.append("main", input, { id: asEntryId(`g${++n}`), time: clock, ...meta });
  const usedIds: string[] = [];
  let producer: (typeof PRODUCERS)[number] = pick(rand, PRODUCERS);
  const text = (base: string): string => {
    const r = rand();
    if (r < 0.05) return "   \n";
    if (r < 0.1) return `${base} \n`;
    if (r < 0.13) return `${base} \ud83d`; // a lone high surrogate (a cut emoji)
    return base;
  };
  const callId = (turn: number, j: number, taken: readonly string[]): string => {
    const r = rand();
    const reusable = usedIds.filter((id) => !taken.includes(id));
    if (r < 0.1 && reusable.length > 0) return pick(rand, reusable); // agents reuse call ids (never twice in one turn)
    if (r < 0.2) return `functions.${pick(rand, GEN_TOOLS).name}:${j}`; // Kimi-style ids other providers refuse
    if (r < 0.3) return `toolu_${turn}${j}`;
    return `call_${turn}_${j}`;
  };
  const interleave = (): void => {
    const r = rand();
    if (r < 0.35) append({ kind: "user", content: { text: text(`also check the tests (typed on the phone)`) } }, "dphone");
    else if (r < 0.55) append({ kind: "config", content: { changes: { sandbox: pick(rand, ["read-only", "workspace-write"]) } } }, "dphone");
    else if (r < 0.7) append({ kind: "tool_result", content: { callId: `stray_${n}`, text: "a result nobody asked for" } }, "drunner");
    else if (r < 0.75) append({ kind: "summary", content: { text: "Earlier work, compacted.", from: asEntryId("g1"), to: asEntryId("g1") } }, "dphone");
  };
  append({ kind: "user", content: { text: text("Fix the failing build.") } });
  const turns = opts.turns ?? 12;
  for (let turn = 0; turn < turns; turn++) {
    if (rand() < 0.35) producer = pick(rand, PRODUCERS); // provider switches, also in the middle of a tool loop
    const ncalls = rand() < 0.6 ? (rand() < 0.25 ? 2 + Math.floor(rand() * 2) : 1) : 0;
    const calls: ToolCall[] = [];
    for (let j = 0; j < ncalls; j++) {
      const tool = pick(rand, GEN_TOOLS);
      const args: JsonObject = tool.name === "bash" ? { cmd: `make test ${turn}` } : tool.name === "read_file" ? { path: `src/f${turn}.ts` } : { q: `error ${turn}` };
      const id = callId(turn, j, calls.map((c) => c.id));
      calls.push(rand() < 0.3 ? { id, name: tool.name, argumentsText: JSON.stringify(args).replace(/":/g, '": ') } : { id, name: tool.name, arguments: args });
    }
    const body = ncalls > 0 && rand() < 0.5 ? "" : text(`Step ${turn}: looking into it.`);
    const reasoning = rand() < 0.5 ? `think ${turn}` : undefined;
    const a = append(
      { kind: "assistant", content: { text: body, ...(reasoning !== undefined ? { reasoning } : {}), ...(calls.length > 0 ? { toolCalls: calls } : {}) } },
      "dlaptop",
      { provider: producer.provider, model: producer.model },
    );
    producedBy.set(a.id, producer.provider);
    usedIds.push(...calls.map((c) => c.id));
    blobs.set(a.id, producerBlobs(rand, a, producer, opts));
    if (calls.length === 0) {
      append({ kind: "user", content: { text: text(`Next: step ${turn + 1}.`) } });
      continue;
    }
    // Results, in any order, with other devices' entries between them; sometimes the loop is abandoned.
    const order = [...calls].sort(() => rand() - 0.5);
    const abandon = rand() < 0.1 ? Math.floor(rand() * order.length) : -1;
    order.forEach((c, j) => {
      if (rand() < 0.3) interleave();
      if (j === abandon) return;
      const r = rand();
      append({ kind: "tool_result", content: { callId: c.id, text: r < 0.08 ? "" : r < 0.12 ? "  " : `ok ${c.name} ${turn}`, ...(r < 0.12 || r > 0.9 ? { isError: true } : {}) } }, "drunner");
    });
    if (rand() < 0.2) interleave();
    if (rand() < 0.25) append({ kind: "user", content: { text: text(`Good. Now step ${turn + 1}.`) } });
  }
  return { entries: log.transcript("main"), blobs, producedBy };
};

const producerBlobs = (rand: () => number, a: Entry, p: (typeof PRODUCERS)[number], opts: GenerateOptions): HiddenBlob[] => {
  if (a.kind !== "assistant") return [];
  const k = a.id;
  const calls = a.content.toolCalls ?? [];
  let order = 0;
  switch (p.provider) {
    case "anthropic": {
      // A turn produced with thinking off has no thinking block.
      if (rand() < 0.25) return [];
      const out = [testBlob(k, p.provider, p.model, "anthropic.thinking", order++, { thinking: `thinking ${k}`, signature: `sig_${k}` })];
      if (rand() < 0.2) out.push(testBlob(k, p.provider, p.model, "anthropic.redacted_thinking", order++, { data: `red_${k}` }));
      return out;
    }
    case "openai": {
      const out = [testBlob(k, p.provider, p.model, "openai.reasoning", order++, { id: `rs_${k}`, encrypted_content: `enc_${k}`, summary: [] })];
      if (!opts.oldOpenAILogs) {
        if (a.content.text !== "" || calls.length === 0)
          out.push(testBlob(k, p.provider, p.model, "openai.output_item", order++, { type: "message", id: `msg_${k}`, status: "completed", ...(calls.length > 0 ? { phase: "commentary" } : { phase: "final_answer" }) }));
        calls.forEach((c, j) => out.push(testBlob(k, p.provider, p.model, "openai.output_item", order++, { type: "function_call", id: `fc_${k}_${j}`, call_id: c.id, status: "completed" })));
      }
      out.push(testBlob(k, p.provider, p.model, "openai.response", order++, { id: `resp_${k}` }));
      return out;
    }
    case "google": {
      const first = calls.length > 0 ? (a.content.text !== "" ? 1 : 0) : a.content.text !== "" ? 0 : 0;
      return [testBlob(k, p.provider, p.model, "gemini.thought_signature", order++, { part: first, signature: `ts_${k}` })];
    }
    default:
      return [];
  }
};

/** Whether a compile of `entries` is a request an agent would send: on the user side, no tool call waiting for its result. */
export const isRequestPoint = (entries: readonly Entry[]): boolean => {
  const last = entries.at(-1);
  if (!last || last.kind === "assistant") return false;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.kind !== "assistant") continue;
    const calls = (e.content.toolCalls ?? []).map((c) => c.id);
    const answered = new Set(entries.slice(i + 1).flatMap((x) => (x.kind === "tool_result" ? [x.content.callId] : [])));
    return calls.every((c) => answered.has(c));
  }
  return true;
};
