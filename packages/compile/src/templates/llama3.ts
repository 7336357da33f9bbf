import type { JsonValue } from "@ctxsync/core";
import { takeBlobs } from "../hidden.js";
import { MISSING_RESULT_TEXT, type PlanItem } from "../plan.js";
import { configText, summaryText, type PromptPiece, type PromptRenderer } from "../render.js";
import { templateTool } from "./chatml.js";
import { piece, promptParams, staticText } from "./prompt.js";
import { sortKeys, tojson } from "./tojson.js";

export const RENDERER_VERSION = "llama3/2";

const header = (role: string): string => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
const TOOLS_INTRO =
  'You have access to the following functions. To call a function, please respond with JSON for a function call.Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n';
/** The template's default `date_string`: a constant, so the system turn is the same every day. */
export const LLAMA3_DATE_STRING = "26 Jul 2024";

/**
 * Llama 3.1 / 3.3, byte for byte the official template (checked with `@huggingface/jinja`,
 * docs/compile.md) with `tools_in_user_message=false` (tools in the system turn, the static part)
 * and its default `date_string`: `<|begin_of_text|>`, a system turn always (with the knowledge-date
 * lines and, with tools, `Environment: ipython`), header-delimited turns ending in `<|eot_id|>`,
 * message contents trimmed, a tool call as `{"name": …, "parameters": …}` (the text beside it is not
 * written; several calls are several assistant turns, the only form the template accepts), tool
 * results as `ipython` turns holding the JSON string of the result. Llama 3 has no reasoning
 * format: visible reasoning is left out of every turn (consistently).
 */
export const llama3: PromptRenderer<undefined> = {
  id: "llama3",
  version: RENDERER_VERSION,
  form: "prompt",
  init: () => undefined,
  fork: () => undefined,
  opening(env, w) {
    const { tools } = env.ctx;
    const system = staticText(w, "system", (env.ctx.system ?? "").trim());
    const dates = `Cutting Knowledge Date: December 2023\nToday Date: ${LLAMA3_DATE_STRING}\n\n`;
    const segments: PromptPiece[] = [];
    if (tools.length > 0) {
      const defs = tools.map((t) => `${tojson(templateTool(t), 4)}\n\n`).join("");
      segments.push({ draft: { kind: "tools" }, text: staticText(w, "tools", `${header("system")}Environment: ipython\n${dates}${TOOLS_INTRO}${defs}`) });
      segments.push({ draft: { kind: "system", role: "system" }, text: `${system}<|eot_id|>` });
    } else segments.push({ draft: { kind: "system", role: "system" }, text: `${header("system")}${dates}${system}<|eot_id|>` });
    return { params: promptParams(env), lead: "<|begin_of_text|>", segments };
  },
  span: (c, items: readonly PlanItem[]) =>
    items.map((i) => {
      if (i.kind !== "missing") takeBlobs(c.env.blobs, c.warnings, i.entry, {});
      const ids = i.kind === "missing" ? [] : [i.entry.id];
      const seg = (role: string, text: string, assistant = false) =>
        piece(c.warnings, { kind: "entry", entryIds: ids, role, ...(assistant ? { reasoning: false, headLength: header("assistant").length } : {}) }, text);
      const turn = (role: string, text: string) => `${header(role)}${text}<|eot_id|>`;
      switch (i.kind) {
        case "user":
          return seg("user", turn("user", i.entry.content.text.trim()));
        case "summary":
          return seg("user", turn("user", summaryText(i.entry.content).trim()));
        case "config":
          return seg("system", turn("system", configText(i.entry.content).trim()));
        case "result":
        case "orphan":
        case "missing":
          return seg("ipython", turn("ipython", JSON.stringify(i.kind === "missing" ? MISSING_RESULT_TEXT : i.entry.content.text)));
        case "assistant": {
          const e = i.entry;
          if (e.content.reasoning !== undefined) c.warnings.merged("reasoning-omitted", e.id, "Llama 3 has no reasoning format; visible reasoning is left out of every turn");
          const calls = e.content.toolCalls ?? [];
          if (calls.length === 0) return seg("assistant", turn("assistant", e.content.text.trim()), true);
          if (e.content.text.trim() !== "") c.warnings.merged("content-dropped-by-template", e.id, "the Llama 3.1 template writes only the tool call of a turn that calls a tool; the text beside it is left out");
          // The exact argument text the model wrote; arguments stored as a value are written as the template's tojson would.
          const text = calls.map((tc) => turn("assistant", `{"name": "${tc.name}", "parameters": ${tc.argumentsText ?? tojson(sortKeys((tc.arguments ?? {}) as JsonValue))}}`)).join("");
          return seg("assistant", text, true);
        }
      }
    }),
  closing: () => ({ draft: { kind: "generation-prompt", role: "assistant" }, text: header("assistant") }),
};
