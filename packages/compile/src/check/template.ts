import { hasLoneSurrogate } from "../writer.js";
import { isObj, rule, type Obj, type Violations } from "./rules.js";

export const TEMPLATE_RULES = {
  fields: rule("template.completion-request", "a completion request needs `model` and `prompt` strings", "OpenAI-compatible /v1/completions, llama.cpp /completion"),
  surrogate: rule(
    "template.lone-surrogate",
    "[json.exception.parse_error.101] parse error: syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF",
    "llama.cpp server (nlohmann::json) on a prompt with an unpaired surrogate escape",
  ),
  turns: rule("template.turns-closed", "every turn but the generation prompt is closed by the template's end-of-turn token", "the chat template's own structure (ChatML <|im_end|>, Llama 3 <|eot_id|>)"),
  singleCall: rule("llama3.single-tool-call", "This model only supports single tool-calls at once!", "the Llama 3.1 / 3.3 chat template's raise_exception"),
} as const;

/** Completion requests rendered through a chat template: well-formed text and closed turns. */
export const checkTemplate = (family: "chatml" | "llama3", body: Obj, v: Violations): void => {
  const R = TEMPLATE_RULES;
  const prompt = body.prompt;
  if (typeof body.model !== "string" || typeof prompt !== "string") {
    v.add(R.fields, isObj(body) ? "prompt" : "", "model or prompt missing");
    return;
  }
  if (hasLoneSurrogate(prompt)) v.add(R.surrogate, "prompt", "the prompt has unpaired surrogates");
  if (family === "chatml") {
    const opens = prompt.split("<|im_start|>").length - 1;
    const closes = prompt.split("<|im_end|>").length - 1;
    if (opens - closes !== 1 || !/<\|im_start\|>assistant\n(<think>\n\n<\/think>\n\n)?$/.test(prompt)) v.add(R.turns, "prompt", `${opens} turns opened, ${closes} closed, or no generation prompt at the end`);
    return;
  }
  const turns = prompt.split("<|start_header_id|>").slice(1);
  turns.forEach((t, i) => {
    const last = i === turns.length - 1;
    if (last ? t !== "assistant<|end_header_id|>\n\n" : !t.endsWith("<|eot_id|>")) v.add(R.turns, "prompt", `turn ${i} (${t.slice(0, t.indexOf("<|end_header_id|>"))}) is not closed`);
    const m = /^assistant<\|end_header_id\|>\n\n(\{"name": [\s\S]*)<\|eot_id\|>$/.exec(t);
    if (m && /\}\{"name": /.test(m[1]!)) v.add(R.singleCall, "prompt", `assistant turn ${i} holds several tool calls`);
  });
  if (!prompt.startsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>")) v.add(R.turns, "prompt", "the prompt does not start with the system turn");
};
