// Small hand-made transcripts for the golden tests: deterministic ids, times and blobs.
import * as Y from "yjs";
import { asDeviceId, asEntryId, openLog, type Entry, type EntryId, type EntryInput, type HiddenBlob } from "@ctxsync/core";
import type { RenderContext, ToolSpec } from "./context.js";

export const TOOLS: ToolSpec[] = [
  { name: "search_flights", description: "Find flights between two airports on a date.", parameters: { type: "object", properties: { from: { type: "string" }, to: { type: "string" }, date: { type: "string" } }, required: ["from", "to", "date"] } },
  { name: "book", description: "Book a flight.", parameters: { type: "object", properties: { flight: { type: "string" } }, required: ["flight"] } },
];
export const SYSTEM = "You are a travel agent. Be brief.";

/** Build a transcript on a fresh log with ids e1, e2, ... */
export const buildTranscript = (inputs: readonly EntryInput[]): Entry[] => {
  let clock = 1_700_000_000_000;
  const log = openLog(new Y.Doc(), { device: asDeviceId("dfixture"), now: () => clock++ });
  inputs.forEach((input, i) => log.append("main", input, { id: asEntryId(`e${i + 1}`), time: clock }));
  return log.transcript("main");
};

/** A tool loop with reasoning, an invalid-JSON call, a later user query and a config change. */
export const FLIGHT: readonly EntryInput[] = [
  { kind: "user", content: { text: "Find me a flight from SFO to JFK on 2024-06-01." } },
  {
    kind: "assistant",
    content: {
      text: "",
      reasoning: "The user wants flights; call search_flights.",
      toolCalls: [{ id: "call_1", name: "search_flights", arguments: { from: "SFO", to: "JFK", date: "2024-06-01" } }],
    },
  },
  { kind: "tool_result", content: { callId: "call_1", text: '[{"flight":"UA12","price":320}]' } },
  { kind: "assistant", content: { text: "UA12 at $320. Shall I book it?", reasoning: "One result; offer it." } },
  { kind: "config", content: { changes: { sandbox: "read-only" } } },
  { kind: "user", content: { text: "Yes, book it — thanks! ✈️" } },
  { kind: "assistant", content: { text: "Booking.", toolCalls: [{ id: "call_2", name: "book", argumentsText: '{"flight": "UA12",' }] } },
  { kind: "tool_result", content: { callId: "call_2", text: "error: malformed arguments", isError: true } },
];

/** A compacted branch: a summary, parallel tool calls, an orphan tool result and an empty user turn. */
export const PARALLEL: readonly EntryInput[] = [
  { kind: "summary", content: { text: "Earlier: the user asked to compare two config files.", from: asEntryId("old1"), to: asEntryId("old9") } },
  { kind: "user", content: { text: "Read both files." } },
  {
    kind: "assistant",
    content: {
      text: "",
      toolCalls: [
        { id: "toolu_a", name: "read_file", arguments: { path: "a.toml" } },
        { id: "toolu_b", name: "read_file", arguments: { path: "b.toml" } },
      ],
    },
  },
  { kind: "tool_result", content: { callId: "toolu_a", text: "x = 1\n" } },
  { kind: "tool_result", content: { callId: "toolu_b", text: "x = 2\n" } },
  { kind: "tool_result", content: { callId: "toolu_gone", text: "late output" } },
  { kind: "user", content: { text: "" } },
];

/** A hidden blob with a deterministic id. */
export const testBlob = (entry: string, provider: string, model: string, kind: string, order: number, data: HiddenBlob["data"]): HiddenBlob => ({
  id: `b-${entry}-${order}`,
  entry: entry as EntryId,
  provider,
  model,
  kind,
  order,
  data,
  time: 0,
});

/** Hidden blobs of FLIGHT's assistant turns, from every provider family plus one that no renderer serves. */
export const FLIGHT_BLOBS: ReadonlyMap<string, HiddenBlob[]> = new Map([
  [
    "e2",
    [
      testBlob("e2", "anthropic", "claude-sonnet-4-5-20250929", "anthropic.thinking", 0, { thinking: "The user wants flights; call search_flights.", signature: "EqQBCkYIARgCKkB+sig/e2==" }),
      testBlob("e2", "anthropic", "claude-sonnet-4-5-20250929", "anthropic.redacted_thinking", 1, { data: "EmwKAhgBEgy3redacted==" }),
      testBlob("e2", "openai", "gpt-5.4-2026-03-05", "openai.reasoning", 2, { id: "rs_e2", encrypted_content: "gAAAAB-enc-e2", summary: [{ type: "summary_text", text: "Search first." }] }),
      testBlob("e2", "openai", "gpt-5.4-2026-03-05", "openai.response", 3, { id: "resp_e2" }),
      testBlob("e2", "google", "gemini-3-pro", "gemini.thought_signature", 4, { part: 0, signature: "CiQB-ts-e2" }),
      testBlob("e2", "acme", "acme-1", "acme.state", 5, { secret: "NEVER-RENDER-ME" }),
    ],
  ],
  [
    "e4",
    [
      testBlob("e4", "anthropic", "claude-sonnet-4-5-20250929", "anthropic.thinking", 0, { thinking: "One result; offer it.", signature: "sig-e4" }),
      testBlob("e4", "openai", "gpt-5.4-2026-03-05", "openai.reasoning", 1, { id: "rs_e4", encrypted_content: "gAAAAB-enc-e4" }),
      testBlob("e4", "openai", "gpt-5.4-2026-03-05", "openai.response", 2, { id: "resp_e4" }),
      testBlob("e4", "google", "gemini-3-pro", "gemini.thought_signature", 3, { part: 0, signature: "CiQB-ts-e4" }),
    ],
  ],
]);

/** One context per renderer (and mode) for the golden files. */
export const GOLDEN_CONTEXTS: Record<string, RenderContext> = {
  "openai-chat": { provider: "openai-chat", model: "gpt-5.4", system: SYSTEM, tools: TOOLS, options: { params: { temperature: 0 } } },
  "openai-chat.breakpoints": { provider: "openai-chat", model: "gpt-5.6", system: SYSTEM, tools: TOOLS, options: { explicitBreakpoints: true, params: { prompt_cache_options: { mode: "implicit", ttl: "30m" } } } },
  "openai-responses": { provider: "openai-responses", model: "gpt-5.4", system: SYSTEM, tools: TOOLS, options: { params: { reasoning: { effort: "low" } } } },
  "openai-responses.previous": { provider: "openai-responses", model: "gpt-5.4", system: SYSTEM, tools: TOOLS, options: { responsesMode: "previous_response_id" } },
  anthropic: { provider: "anthropic", model: "claude-sonnet-4-5-20250929", system: SYSTEM, tools: TOOLS, options: { params: { max_tokens: 1024 } } },
  gemini: { provider: "gemini", model: "gemini-3-pro", system: SYSTEM, tools: TOOLS, options: { params: { generationConfig: { temperature: 0 } } } },
  deepseek: { provider: "deepseek", model: "deepseek-v4", system: SYSTEM, tools: TOOLS },
  "deepseek.reasoner": { provider: "deepseek", model: "deepseek-reasoner", system: SYSTEM, tools: TOOLS },
  chatml: { provider: "chatml", model: "local", system: SYSTEM, tools: TOOLS },
  qwen3: { provider: "qwen3", model: "qwen3-8b", system: SYSTEM, tools: TOOLS, options: { params: { max_tokens: 256 } } },
  "qwen3.stock": { provider: "qwen3", model: "qwen3-8b", system: SYSTEM, tools: TOOLS, options: { reasoning: "stock" } },
  llama3: { provider: "llama3", model: "llama-3.1-8b", system: SYSTEM, tools: TOOLS },
};
