import { canonicalJson, toolCallArgumentsText, type Entry } from "@ctxsync/core";
import { takeBlobs } from "../hidden.js";
import { configText, summaryText, type RenderEnv, type Renderer } from "../render.js";
import type { StreamWriter } from "../writer.js";
import { renderPrompt, type CompletionRequest } from "./prompt.js";

export const RENDERER_VERSION = "chatml/1";

export interface ChatmlMode {
  /** Drop reasoning of assistant turns before the last real user query, as the stock Qwen3 template does. */
  readonly stock: boolean;
  /** false: the generation prompt carries an empty think block (Qwen3 `enable_thinking=false`). */
  readonly enableThinking: boolean;
}

const TOOLS_INTRO =
  "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>";
const TOOLS_OUTRO =
  '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>';
const EMPTY_THINK = "<think>\n\n</think>\n\n";

/** A user message that is only tool responses does not count as a query (Qwen3 template rule). */
const isRealQuery = (e: Entry): boolean =>
  (e.kind === "user" && !(e.content.text.startsWith("<tool_response>") && e.content.text.endsWith("</tool_response>"))) || e.kind === "summary";

/**
 * ChatML (`<|im_start|>role\n…<|im_end|>\n`) with Hermes-style tools, as Qwen templates render it.
 * Reasoning is rendered as `<think>\n…\n</think>\n\n` in every assistant turn (kept mode), so a
 * turn renders the same bytes the model generated and the next prompt extends this one. Tool
 * definitions are canonical JSON (the stock template uses Jinja `tojson`, with spaces).
 */
export const writeChatml = (env: RenderEnv, w: StreamWriter, mode: ChatmlMode): void => {
  const { system, tools } = env.ctx;
  if (tools.length > 0) {
    w.segment({ kind: "system", role: "system" }, `<|im_start|>system\n${system ?? ""}`);
    const defs = tools.map((t) => `\n${canonicalJson({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } })}`).join("");
    w.segment({ kind: "tools" }, `${system !== undefined ? "\n\n" : ""}${TOOLS_INTRO}${defs}${TOOLS_OUTRO}<|im_end|>\n`);
  } else if (system !== undefined) w.segment({ kind: "system", role: "system" }, `<|im_start|>system\n${system}<|im_end|>\n`);

  const generationPrompt = `<|im_start|>assistant\n${mode.enableThinking ? "" : EMPTY_THINK}`;
  const entries = env.entries;
  let lastQuery = -1;
  for (let i = entries.length - 1; i >= 0; i--)
    if (isRealQuery(entries[i]!)) {
      lastQuery = i;
      break;
    }
  entries.forEach((e, i) => {
    takeBlobs(env.blobs, e, {}); // self-hosted engines take no provider blobs: reported and left out
    const seg = (role: string, text: string, reasoning?: boolean) =>
      w.segment({ kind: "entry", entryIds: [e.id], role, ...(reasoning !== undefined ? { reasoning, headLength: generationPrompt.length } : {}) }, text);
    switch (e.kind) {
      case "user":
        return seg("user", `<|im_start|>user\n${e.content.text}<|im_end|>\n`);
      case "summary":
        return seg("user", `<|im_start|>user\n${summaryText(e.content)}<|im_end|>\n`);
      case "config":
        return seg("system", `<|im_start|>system\n${configText(e.content)}<|im_end|>\n`);
      case "tool_result": {
        // Consecutive tool results share one user turn.
        const first = entries[i - 1]?.kind !== "tool_result";
        const last = entries[i + 1]?.kind !== "tool_result";
        return seg("tool", `${first ? "<|im_start|>user" : ""}\n<tool_response>\n${e.content.text}\n</tool_response>${last ? "<|im_end|>\n" : ""}`);
      }
      case "assistant": {
        const r = e.content.reasoning;
        let think = "";
        if (r !== undefined) {
          if (mode.stock && i < lastQuery)
            env.warnings.reasoning("reasoning-dropped-by-template", e.id, "the stock Qwen3 template drops reasoning of turns before the last user query: the prefix breaks at the first of them");
          else think = `<think>\n${r}\n</think>\n\n`;
        } else if (!mode.enableThinking && !mode.stock) think = EMPTY_THINK;
        const text = e.content.text;
        const calls = (e.content.toolCalls ?? [])
          .map((tc, j) => `${j > 0 || text !== "" ? "\n" : ""}<tool_call>\n{"name": ${JSON.stringify(tc.name)}, "arguments": ${toolCallArgumentsText(tc)}}\n</tool_call>`)
          .join("");
        return seg("assistant", `<|im_start|>assistant\n${think}${text}${calls}<|im_end|>\n`, r !== undefined && think !== "");
      }
    }
  });
  w.segment({ kind: "generation-prompt", role: "assistant" }, generationPrompt);
};

export const chatml: Renderer<CompletionRequest> = {
  id: "chatml",
  version: RENDERER_VERSION,
  render: (env) => renderPrompt(env, (w) => writeChatml(env, w, { stock: false, enableThinking: true })),
};
