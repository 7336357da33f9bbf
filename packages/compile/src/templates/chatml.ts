import { toolCallArgumentsText, type JsonValue } from "@ctxsync/core";
import { takeBlobs } from "../hidden.js";
import { isToolItem, MISSING_RESULT_TEXT, type PlanItem } from "../plan.js";
import { configText, summaryText, type PromptOpening, type PromptPiece, type PromptRenderer, type RenderEnv, type SpanContext } from "../render.js";
import type { WarningSink } from "../warnings.js";
import { piece, promptParams, staticText } from "./prompt.js";
import { sortKeys, tojson } from "./tojson.js";

export const RENDERER_VERSION = "chatml/2";

export interface ChatmlMode {
  /** Drop reasoning of assistant turns before the last real user query, as the stock Qwen3 template does. */
  readonly stock: boolean;
  /** false: the generation prompt carries an empty think block (Qwen3 `enable_thinking=false`). */
  readonly enableThinking: boolean;
}

const TOOLS_INTRO =
  "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>";
const TOOLS_OUTRO =
  '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n';
const EMPTY_THINK = "<think>\n\n</think>\n\n";

/** A tool as the templates receive it (`{type, function: {name, description, parameters}}`, schema keys sorted). */
export const templateTool = (t: { name: string; description?: string; parameters?: JsonValue }): JsonValue => ({
  type: "function",
  function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), ...(t.parameters !== undefined ? { parameters: sortKeys(t.parameters) } : {}) },
});

/** A user turn that counts as a query: not one made only of tool responses (the Qwen3 template's rule). */
const isRealQuery = (i: PlanItem): boolean => {
  if (i.kind === "summary") return true;
  if (i.kind !== "user") return false;
  const t = i.entry.content.text;
  return !(t.startsWith("<tool_response>") && t.endsWith("</tool_response>"));
};

export interface ChatmlState {
  /** A real user query exists in the memoized part. */
  anyQuery: boolean;
}

const stripNewlines = (s: string) => s.replace(/^\n+|\n+$/g, "");

/**
 * ChatML (`<|im_start|>role\n…<|im_end|>\n`) with tools, tool calls and tool responses as the
 * Qwen3 template writes them (checked byte for byte against it: docs/compile.md). Reasoning is
 * rendered as `<think>\n…\n</think>\n\n` in every assistant turn (kept mode), so a turn renders the
 * same bytes the model generated and the next prompt extends this one; stock mode drops it before
 * the last user query, as the stock template does.
 */
const chatmlSpan = (mode: ChatmlMode, c: SpanContext<ChatmlState>, items: readonly PlanItem[], next: PlanItem | undefined): PromptPiece[] => {
  const w: WarningSink = c.warnings;
  const gen = generationPrompt(mode);
  let lastQuery = -1;
  if (mode.stock && c.last) for (let k = items.length - 1; k >= 0 && lastQuery < 0; k--) if (isRealQuery(items[k]!)) lastQuery = k;
  const anyQueryBefore = c.state.anyQuery;
  const out = items.map((i, k): PromptPiece => {
    if (isRealQuery(i)) c.state.anyQuery = true;
    if (i.kind !== "missing") takeBlobs(c.env.blobs, w, i.entry, {}); // self-hosted engines take no provider blobs: reported and left out
    const ids = i.kind === "missing" ? [] : [i.entry.id];
    const seg = (role: string, text: string, reasoning?: boolean) =>
      piece(w, { kind: "entry", entryIds: ids, role, ...(reasoning !== undefined ? { reasoning, headLength: gen.length } : {}) }, text);
    switch (i.kind) {
      case "user":
        return seg("user", `<|im_start|>user\n${i.entry.content.text}<|im_end|>\n`);
      case "summary":
        return seg("user", `<|im_start|>user\n${summaryText(i.entry.content)}<|im_end|>\n`);
      case "config":
        return seg("system", `<|im_start|>system\n${configText(i.entry.content)}<|im_end|>\n`);
      case "result":
      case "orphan":
      case "missing": {
        // Consecutive tool results share one user turn.
        const prev = k > 0 ? items[k - 1] : undefined;
        const after = k + 1 < items.length ? items[k + 1] : next;
        const first = !prev || !isToolItem(prev);
        const last = !after || !isToolItem(after);
        const text = i.kind === "missing" ? MISSING_RESULT_TEXT : i.entry.content.text;
        return seg("tool", `${first ? "<|im_start|>user" : ""}\n<tool_response>\n${text}\n</tool_response>${last ? "<|im_end|>\n" : ""}`);
      }
      case "assistant": {
        const e = i.entry;
        const r = e.content.reasoning;
        const text = e.content.text;
        // A turn as the stock template writes one after the last real query: a think block when it
        // has reasoning (newlines around it stripped, as Python's `strip('\n')` does), or when it is the last message.
        const thought = (isLast: boolean) => (isLast || (r !== undefined && r !== "") ? `<think>\n${stripNewlines(r ?? "")}\n</think>\n\n${text.replace(/^\n+/, "")}` : undefined);
        let head: string;
        let withReasoning: boolean;
        if (mode.stock) {
          // The stock template: that form only after the last real query; before it, the reasoning is dropped.
          const after = c.last && (lastQuery >= 0 ? k > lastQuery : anyQueryBefore);
          const isLast = c.last && k === items.length - 1 && next === undefined;
          const t = after ? thought(isLast) : undefined;
          if (t === undefined && r !== undefined && r !== "" && !after)
            w.merged("reasoning-dropped-by-template", e.id, "the stock Qwen3 template drops reasoning of turns before the last user query: the prefix breaks at the first of them");
          head = t ?? text;
          withReasoning = t !== undefined && r !== undefined && r !== "";
        } else {
          // Kept mode: every turn in that form (the stock template with every turn after the last query),
          // so a turn renders as the model wrote it and the next prompt extends this one.
          const t = thought(false);
          withReasoning = t !== undefined;
          head = t ?? (!mode.enableThinking ? `${EMPTY_THINK}${text}` : text);
        }
        const calls = (e.content.toolCalls ?? [])
          .map((tc, j) => `${j > 0 || text !== "" ? "\n" : ""}<tool_call>\n{"name": "${tc.name}", "arguments": ${toolCallArgumentsText(tc)}}\n</tool_call>`)
          .join("");
        return seg("assistant", `<|im_start|>assistant\n${head}${calls}<|im_end|>\n`, withReasoning);
      }
    }
  });
  return out;
};

const generationPrompt = (mode: ChatmlMode): string => `<|im_start|>assistant\n${mode.enableThinking ? "" : EMPTY_THINK}`;

const chatmlOpening = (env: RenderEnv, w: WarningSink): PromptOpening => {
  const { tools } = env.ctx;
  const system = env.ctx.system === undefined ? undefined : staticText(w, "system", env.ctx.system);
  const segments: PromptPiece[] = [];
  if (tools.length > 0) {
    segments.push({ draft: { kind: "system", role: "system" }, text: `<|im_start|>system\n${system !== undefined ? `${system}\n\n` : ""}` });
    const defs = tools.map((t) => `\n${tojson(templateTool(t))}`).join("");
    segments.push({ draft: { kind: "tools" }, text: staticText(w, "tools", `${TOOLS_INTRO}${defs}${TOOLS_OUTRO}`) });
  } else if (system !== undefined) segments.push({ draft: { kind: "system", role: "system" }, text: `<|im_start|>system\n${system}<|im_end|>\n` });
  return { params: promptParams(env), lead: "", segments };
};

/**
 * How far the memoized part may grow under the stock template: up to the first assistant turn
 * after the last real user query (a new query makes the stock template render every turn since the
 * previous one without its reasoning). Only the entries from `from` are scanned: when the last
 * query is older, the memoized part already ends at or before that turn and stays there.
 */
const stockLimit = (entries: readonly { kind: string; content: unknown }[], from: number, state: ChatmlState): number | undefined => {
  for (let i = entries.length - 1; i >= from; i--) {
    const e = entries[i]!;
    const text = e.kind === "user" ? (e.content as { text: string }).text : "";
    if (e.kind === "summary" || (e.kind === "user" && !(text.startsWith("<tool_response>") && text.endsWith("</tool_response>")))) {
      for (let j = i + 1; j < entries.length; j++) if (entries[j]!.kind === "assistant") return j;
      return undefined;
    }
  }
  return state.anyQuery ? from : undefined;
};

/** A ChatML-family renderer in one mode. */
export const chatmlRenderer = (id: "chatml" | "qwen3", version: string, modeOf: (env: RenderEnv) => ChatmlMode): PromptRenderer<ChatmlState> => ({
  id,
  version,
  form: "prompt",
  init: () => ({ anyQuery: false }),
  fork: (s) => ({ ...s }),
  opening: chatmlOpening,
  span: (c, items, next) => chatmlSpan(modeOf(c.env), c, items, next),
  closing: (env) => ({ draft: { kind: "generation-prompt", role: "assistant" }, text: generationPrompt(modeOf(env)) }),
  frontierLimit: (env, entries, from, state) => (modeOf(env).stock ? stockLimit(entries, from, state) : undefined),
});

export const chatml = chatmlRenderer("chatml", RENDERER_VERSION, () => ({ stock: false, enableThinking: true }));
