import { arr, isObj, rule, type Obj, type Violations } from "./rules.js";

export const RESPONSES_RULES = {
  outputHasCall: rule("openai-responses.output-answers-call", "No tool call found for function call output with call_id …", "OpenAI Responses 400 (stateless input)"),
  callHasOutput: rule("openai-responses.call-has-output", "No tool output found for function call …", "OpenAI Responses 400 (stateless input)"),
  reasoningFollowed: rule(
    "openai-responses.reasoning-followed",
    "Item 'rs_…' of type 'reasoning' was provided without its required following item.",
    "OpenAI Responses 400 (continuedev/continue #8933, vercel/ai #7099, openai-dotnet #1050)",
  ),
  idPrefix: rule("openai-responses.id-prefix", "Invalid 'input[N].id': '…'. Expected an ID that begins with 'msg' (function calls: 'fc', reasoning: 'rs').", "OpenAI Responses 400"),
  name: rule("openai-responses.function-name-pattern", "Invalid 'tools[0].name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", "OpenAI 400"),
  chaining: rule("openai-responses.previous-response-store", "`previous_response_id` only works while the stored response still exists (≤30 days, and only with `store:true`).", "PROVIDERS.md §2"),
} as const;

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const PREFIX: Record<string, string> = { message: "msg", function_call: "fc", reasoning: "rs" };

/**
 * The Responses API's structural rules for `input`. In stateless mode (no `previous_response_id`)
 * every call must be answered in the input and every output must answer a call in it; a reasoning
 * item must be directly followed by the message or function call it produced (carrying that item's
 * id).
 */
export const checkResponses = (body: Obj, v: Violations): void => {
  const R = RESPONSES_RULES;
  arr(body.tools).forEach((t, i) => {
    if (!isObj(t) || typeof t.name !== "string" || !NAME.test(t.name)) v.add(R.name, `tools[${i}].name`, `name ${JSON.stringify(isObj(t) ? t.name : t)}`);
  });
  const chained = typeof body.previous_response_id === "string";
  if (chained && body.store === false) v.add(R.chaining, "store", "previous_response_id with store:false");
  const input = arr(body.input);
  const calls = new Map<string, number>();
  const answered = new Set<string>();
  input.forEach((it, i) => {
    if (!isObj(it)) return;
    const path = `input[${i}]`;
    if (typeof it.id === "string" && PREFIX[it.type as string] && !it.id.startsWith(PREFIX[it.type as string]!))
      v.add(R.idPrefix, `${path}.id`, `${it.type} id ${JSON.stringify(it.id)}`);
    if (it.type === "reasoning") {
      const next = input[i + 1];
      const ok = isObj(next) && (next.type === "message" || next.type === "function_call") && typeof next.id === "string";
      if (!ok) v.add(R.reasoningFollowed, path, `reasoning item ${JSON.stringify(it.id)} is followed by ${isObj(next) ? `a ${String(next.type)} item${typeof next.id === "string" ? "" : " without an id"}` : "nothing"}`);
    }
    if (it.type === "function_call" && typeof it.call_id === "string") calls.set(it.call_id, i);
    if (it.type === "function_call_output") {
      const id = it.call_id;
      if (typeof id !== "string" || (!calls.has(id) && !chained)) v.add(R.outputHasCall, path, `call_id ${JSON.stringify(id)}`);
      if (typeof id === "string") answered.add(id);
    }
  });
  if (!chained) for (const [id, at] of calls) if (!answered.has(id)) v.add(R.callHasOutput, `input[${at}]`, `function call ${id} has no function_call_output`);
};
