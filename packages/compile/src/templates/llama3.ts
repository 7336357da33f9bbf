import { canonicalJson, toolCallArgumentsText } from "@ctxsync/core";
import { takeBlobs } from "../hidden.js";
import { configText, summaryText, type Renderer } from "../render.js";
import { renderPrompt, type CompletionRequest } from "./prompt.js";

export const RENDERER_VERSION = "llama3/1";

const header = (role: string): string => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
const TOOLS_INTRO =
  'You have access to the following functions. To call a function, respond with JSON for a function call in the form {"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.\n\n';

/**
 * Llama 3.x: `<|begin_of_text|>`, header-delimited turns ending in `<|eot_id|>`, tool results as
 * `ipython` turns, tool definitions in the system turn. Unlike the stock 3.1 template it writes
 * no "Today Date" line into the system turn: a date there changes the first tokens every day.
 * Llama 3 has no reasoning format; visible reasoning is left out of every turn (consistently).
 */
export const llama3: Renderer<CompletionRequest> = {
  id: "llama3",
  version: RENDERER_VERSION,
  render: (env) =>
    renderPrompt(env, (w) => {
      const { system, tools } = env.ctx;
      w.raw("<|begin_of_text|>");
      if (system !== undefined || tools.length > 0) {
        const sys = `${header("system")}${system ?? ""}`;
        if (tools.length > 0) {
          w.segment({ kind: "system", role: "system" }, sys);
          const defs = tools.map((t) => canonicalJson({ type: "function", function: { name: t.name, description: t.description, parameters: t.parameters } })).join("\n\n");
          w.segment({ kind: "tools" }, `${system !== undefined ? "\n\n" : ""}${TOOLS_INTRO}${defs}<|eot_id|>`);
        } else w.segment({ kind: "system", role: "system" }, `${sys}<|eot_id|>`);
      }
      for (const e of env.entries) {
        takeBlobs(env.blobs, e, {});
        const seg = (role: string, text: string, reasoning?: boolean) =>
          w.segment(
            { kind: "entry", entryIds: [e.id], role, ...(reasoning !== undefined ? { reasoning, headLength: header("assistant").length } : {}) },
            `${header(role)}${text}<|eot_id|>`,
          );
        switch (e.kind) {
          case "user":
            seg("user", e.content.text);
            break;
          case "summary":
            seg("user", summaryText(e.content));
            break;
          case "config":
            seg("system", configText(e.content));
            break;
          case "tool_result":
            seg("ipython", e.content.text);
            break;
          case "assistant": {
            if (e.content.reasoning !== undefined) env.warnings.reasoning("reasoning-omitted", e.id, "Llama 3 has no reasoning format; visible reasoning is left out of every turn");
            const text = e.content.text;
            const calls = (e.content.toolCalls ?? [])
              .map((tc, j) => `${j > 0 || text !== "" ? "\n" : ""}{"name": ${JSON.stringify(tc.name)}, "parameters": ${toolCallArgumentsText(tc)}}`)
              .join("");
            seg("assistant", `${text}${calls}`, false);
          }
        }
      }
      w.segment({ kind: "generation-prompt", role: "assistant" }, header("assistant"));
    }),
};
