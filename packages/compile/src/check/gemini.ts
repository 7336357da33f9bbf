import { validatesSignatures } from "../renderers/gemini.js";
import { arr, isObj, rule, type Obj, type Violations } from "./rules.js";

export const GEMINI_RULES = {
  fields: rule("gemini.rest-fields", 'Invalid JSON payload received. Unknown name "…": Cannot find field.', "Gemini REST 400 for a member GenerateContentRequest does not have (e.g. the SDK's `config`, or `model`)"),
  contents: rule("gemini.contents-nonempty", "* GenerateContentRequest.contents: contents is not specified", "Gemini REST 400"),
  roles: rule("gemini.roles", "Please use a valid role: user, model.", "Gemini REST 400"),
  parts: rule("gemini.parts-nonempty", "* GenerateContentRequest.contents[N].parts: contents.parts must not be empty.", "Gemini REST 400"),
  emptyText: rule("gemini.text-nonempty", "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.", "Gemini / Vertex 400"),
  cached: rule("gemini.cached-content-exclusive", "CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.", "Gemini REST 400"),
  responseAfterCall: rule("gemini.function-response-after-call", "Please ensure that function response turn comes immediately after a function call turn.", "Gemini 400 (langchain-ai/langchain #27799)"),
  responseCount: rule(
    "gemini.function-response-count",
    "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.",
    "Gemini 400 (google-gemini/gemini-cli #17208)",
  ),
  responseOnly: rule(
    "gemini.function-response-turn-only",
    "A function-response turn must contain only function responses when continuing after a tool call.",
    "anomalyco/opencode #43479 (Gemini refuses other parts beside the responses)",
  ),
  callAfterUser: rule(
    "gemini.function-call-after-user",
    "Please ensure that function call turn comes immediately after a user turn or after a function response turn.",
    "Gemini 400 (google-gemini/gemini-cli #26486)",
  ),
  signature: rule(
    "gemini.thought-signature",
    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance.",
    "Gemini 3 400 (PROVIDERS.md §4; ai.google.dev/gemini-api/docs/thought-signatures: the first functionCall part of each step of the current turn)",
  ),
} as const;

const FIELDS = new Set(["contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig", "cachedContent", "labels", "serviceTier", "store"]);

/**
 * The REST `GenerateContentRequest`'s rules. `model` (named in the URL path) decides whether
 * thought signatures are validated (Gemini 3 and later; assumed when not given).
 */
export const checkGemini = (body: Obj, v: Violations, model?: string): void => {
  const R = GEMINI_RULES;
  for (const k of Object.keys(body)) if (!FIELDS.has(k)) v.add(R.fields, k, `unknown member ${JSON.stringify(k)}`);
  if (typeof body.cachedContent === "string")
    for (const k of ["systemInstruction", "tools", "toolConfig"]) if (body[k] !== undefined) v.add(R.cached, k, `${k} beside cachedContent`);
  const contents = arr(body.contents).filter(isObj);
  if (contents.length === 0) v.add(R.contents, "contents", "no contents");
  const calls = (c: Obj | undefined) => arr(c?.parts).filter((p) => isObj(p) && p.functionCall !== undefined) as Obj[];
  const responses = (c: Obj | undefined) => arr(c?.parts).filter((p) => isObj(p) && p.functionResponse !== undefined) as Obj[];
  // The current turn: after the last user content that is not only function responses.
  let current = 0;
  contents.forEach((c, i) => {
    const parts = arr(c.parts);
    if (c.role === "user" && parts.length > 0 && responses(c).length < parts.length) current = i + 1;
  });
  contents.forEach((c, i) => {
    const path = `contents[${i}]`;
    if (c.role !== "user" && c.role !== "model") v.add(R.roles, `${path}.role`, `role ${JSON.stringify(c.role)}`);
    const parts = arr(c.parts);
    if (parts.length === 0) v.add(R.parts, `${path}.parts`, "no parts");
    parts.forEach((p, j) => {
      if (isObj(p) && p.text !== undefined && (typeof p.text !== "string" || p.text === "")) v.add(R.emptyText, `${path}.parts[${j}]`, "empty text");
    });
    const prev = contents[i - 1];
    const rs = responses(c);
    if (rs.length > 0) {
      if (rs.length < parts.length) v.add(R.responseOnly, path, `${parts.length - rs.length} other parts beside ${rs.length} function responses`);
      const cs = calls(prev);
      if (!prev || prev.role !== "model" || cs.length === 0) v.add(R.responseAfterCall, path, "function responses that do not follow a function-call turn");
      else if (cs.length !== rs.length) v.add(R.responseCount, path, `${rs.length} responses to ${cs.length} calls`);
    }
    const cs = calls(c);
    if (c.role === "model" && cs.length > 0) {
      if (prev && prev.role !== "user") v.add(R.callAfterUser, path, "a function-call turn right after another model turn");
      const next = contents[i + 1];
      if (next && responses(next).length === 0) v.add(R.responseAfterCall, `contents[${i + 1}]`, "the turn after a function-call turn has no function responses");
      if (i >= current && (model === undefined || validatesSignatures(model)) && cs[0]!.thoughtSignature === undefined)
        v.add(R.signature, `${path}.parts[${parts.indexOf(cs[0])}]`, "the step's first function call has no thoughtSignature");
    }
  });
};
