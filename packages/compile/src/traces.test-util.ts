// Test support: the 90 real traces of ../shared/traces (or, in a clone without them, traces the
// @ctxsync/traces generates), imported into fresh logs, with synthetic reasoning and hidden blobs drawn
// from a replayable seed.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as Y from "yjs";
import { asDeviceId, importMessages, openLog, parseJsonl, SYSTEM_PROMPT_INFO, type Entry, type EntryId, type HiddenBlob } from "@ctxsync/core";
import type { ToolSpec } from "./context.js";
import { testBlob } from "./fixtures.test-util.js";
import { sharedTracesMissing, traceCorpus } from "@ctxsync/traces";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const TRACES_DIR = resolve(REPO_ROOT, "../shared/traces");
/** Why tests about the real corpus's own contents skip (undefined: it is there). */
export const SHARED_TRACES_MISSING = sharedTracesMissing(REPO_ROOT);

// The properties run over the shared corpus, or 48 generated traces when it is absent.
const corpus = traceCorpus({ from: REPO_ROOT, generated: 48 });

/** Trace names relative to the corpus directory (`tau-bench/….jsonl`), sorted. */
export const traceFiles = (): string[] => corpus.files.map((f) => relative(corpus.dir, f));

export interface LoadedTrace {
  readonly name: string;
  readonly entries: readonly Entry[];
  readonly system: string | undefined;
  /** Tool specs from the tool names the trace calls (traces carry no schemas), in a shuffled order. */
  readonly tools: readonly ToolSpec[];
  readonly blobs: ReadonlyMap<EntryId, HiddenBlob[]>;
  /** Index of every assistant entry in `entries`. */
  readonly assistantAt: readonly number[];
}

/** A marker carried by blobs from a provider no renderer serves: it must never appear in a request. */
export const FOREIGN_MARKER = "FOREIGN-BLOB-NEVER-RENDER";

/**
 * Import one trace; with probability `reasoningRate` an assistant turn gets visible reasoning,
 * and every assistant turn gets hidden blobs for each provider family plus one foreign blob.
 */
export const loadTrace = (file: string, rand: () => number, reasoningRate = 0.5): LoadedTrace => {
  const messages = parseJsonl(readFileSync(join(corpus.dir, file), "utf8"));
  let n = 0;
  const withReasoning = messages.map((m) =>
    m.role === "assistant" && rand() < reasoningRate ? { ...m, reasoning_content: `Let me think about step ${n++}: ${m.content.slice(0, 40)}` } : m,
  );
  let clock = 0;
  const log = openLog(new Y.Doc(), { device: asDeviceId("dtest"), now: () => ++clock });
  const entries: Entry[] = [];
  // Deterministic ids keep golden output stable; importMessages appends in one transaction.
  importMessages(log, withReasoning, { time: 0 });
  for (const e of log.transcript("main")) entries.push(e);
  const system = log.info(SYSTEM_PROMPT_INFO);
  const names = new Set<string>();
  const blobs = new Map<EntryId, HiddenBlob[]>();
  const assistantAt: number[] = [];
  entries.forEach((e, i) => {
    if (e.kind !== "assistant") return;
    assistantAt.push(i);
    for (const tc of e.content.toolCalls ?? []) names.add(tc.name);
    const k = e.id;
    // OpenAI Responses: a reasoning item, then one output item per message / function call (in output order), then the response id.
    const calls = e.content.toolCalls ?? [];
    const outputs: { type: string; id: string; call_id?: string }[] = [
      ...(e.content.text !== "" || calls.length === 0 ? [{ type: "message", id: `msg_${k}` }] : []),
      ...calls.map((tc, j) => ({ type: "function_call", id: `fc_${k}_${j}`, call_id: tc.id })),
    ];
    let order = 0;
    const list: HiddenBlob[] = [
      testBlob(k, "anthropic", "claude-sonnet-4-5-20250929", "anthropic.thinking", order++, { thinking: `thought ${k} "quoted" \u00e9`, signature: `sig/${k}+==` }),
      testBlob(k, "openai", "gpt-5.4", "openai.reasoning", order++, { id: `rs_${k}`, encrypted_content: `enc:${k}`, summary: [{ type: "summary_text", text: `sum ${k}` }] }),
      ...outputs.map((o) => testBlob(k, "openai", "gpt-5.4", "openai.output_item", order++, { ...o, status: "completed" })),
      testBlob(k, "openai", "gpt-5.4", "openai.response", order++, { id: `resp_${k}` }),
      testBlob(k, "google", "gemini-3-pro", "gemini.thought_signature", order++, { part: calls.length > 0 ? (e.content.text !== "" ? 1 : 0) : 0, signature: `ts_${k}` }),
      testBlob(k, "elsewhere", "x-1", "elsewhere.secret", order++, { data: FOREIGN_MARKER }),
    ];
    if (rand() < 0.3) list.push(testBlob(k, "anthropic", "claude-sonnet-4-5-20250929", "anthropic.redacted_thinking", order++, { data: `redacted-${k}` }));
    blobs.set(k, list);
  });
  const tools: ToolSpec[] = [...names].map((name) => ({ name, description: `the ${name} tool`, parameters: { type: "object", properties: {} } }));
  for (let i = tools.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [tools[i], tools[j]] = [tools[j]!, tools[i]!];
  }
  return { name: file, entries, system: typeof system === "string" ? system : undefined, tools, blobs, assistantAt };
};
