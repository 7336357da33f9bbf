import { arr, isObj, rule, type Obj, type Violations } from "./rules.js";

export const ANTHROPIC_RULES = {
  maxTokens: rule("anthropic.max-tokens", "max_tokens: Field required", "Anthropic Messages 400 (max_tokens is required, a positive integer)"),
  nonEmpty: rule("anthropic.messages-nonempty", "messages: all messages must have non-empty content except for the optional final assistant message", "Anthropic 400 (microsoft/autogen #6083)"),
  roles: rule("anthropic.roles", "messages.N.role: Input should be 'user' or 'assistant'", "Anthropic Messages 400"),
  textEmpty: rule("anthropic.text-nonempty", "messages: text content blocks must be non-empty", "Anthropic 400 (anthropics/claude-code #59812)"),
  textWhitespace: rule("anthropic.text-nonwhitespace", "messages: text content blocks must contain non-whitespace text", "Anthropic 400"),
  idPattern: rule("anthropic.tool-use-id-pattern", "messages.N.content.M.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'", "Anthropic 400 (maximhq/bifrost #5097, BerriAI/litellm #21215)"),
  idUnique: rule("anthropic.tool-use-id-unique", "messages.N.content.M: `tool_use` ids must be unique", "Anthropic 400 (anthropics/claude-code #21083, NVIDIA-NeMo/Switchyard #502)"),
  useAnswered: rule(
    "anthropic.tool-use-answered",
    "messages.N: `tool_use` ids were found without `tool_result` blocks immediately after: …. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
    "Anthropic 400",
  ),
  resultAnswers: rule(
    "anthropic.tool-result-answers-use",
    "messages.N.content.M: unexpected `tool_use_id` found in `tool_result` blocks: …. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
    "Anthropic 400",
  ),
  resultsFirst: rule(
    "anthropic.tool-results-first",
    "In the user message containing tool results, the tool_result blocks must come FIRST in the content array. Any text must come AFTER all tool results.",
    "Anthropic tool-use docs (implementing tool use: formatting tool results)",
  ),
  errorContent: rule("anthropic.tool-result-error-content", "messages.N.content.M.tool_result: content cannot be empty if `is_error` is true", "Anthropic 400 (jlevy/markform #153, UKGovernmentBEIS/inspect_ai #169)"),
  trailingWhitespace: rule("anthropic.final-assistant-whitespace", "messages: final assistant content cannot end with trailing whitespace", "Anthropic 400"),
  thinkingFirst: rule(
    "anthropic.thinking-first",
    "messages.N.content.0: If an assistant message contains any thinking blocks, the first block must be thinking or redacted_thinking. Found text.",
    "Anthropic 400 (anthropics/claude-code #20705)",
  ),
  thinkingLoop: rule(
    "anthropic.thinking-final-assistant",
    "messages.N.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks).",
    "Anthropic 400 (OpenRouterTeam/ai-sdk-provider #162, n8n-io/n8n #22550)",
  ),
  thinkingDisabled: rule(
    "anthropic.thinking-disabled-final",
    "messages.N.content.0: When thinking is disabled, an `assistant` message in the final position cannot contain `thinking`. To use thinking blocks, enable `thinking` in your request.",
    "Anthropic 400 (tailcallhq/forgecode #1853)",
  ),
  breakpoints: rule("anthropic.max-breakpoints", "A maximum of 4 blocks with cache_control may be provided. Found N.", "PROVIDERS.md §3.1 (envoyproxy/ai-gateway #1712)"),
  toolName: rule("anthropic.tool-name-pattern", "tools.N.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", "Anthropic 400 (cyanheads/atlas-mcp-server #14)"),
} as const;

const ID = /^[a-zA-Z0-9_-]+$/;
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const isThinking = (b: unknown) => isObj(b) && (b.type === "thinking" || b.type === "redacted_thinking");

/** The Messages API's structural rules (docs and the exact 400s users report). */
export const checkAnthropic = (body: Obj, v: Violations): void => {
  const R = ANTHROPIC_RULES;
  if (typeof body.max_tokens !== "number" || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) v.add(R.maxTokens, "max_tokens", `max_tokens ${JSON.stringify(body.max_tokens)}`);
  const thinking = isObj(body.thinking) && (body.thinking.type === "enabled" || body.thinking.type === "adaptive");
  let breakpoints = 0;
  const countMarks = (o: unknown) => {
    if (isObj(o) && o.cache_control !== undefined) breakpoints++;
  };
  arr(body.tools).forEach((t, i) => {
    countMarks(t);
    if (!isObj(t) || typeof t.name !== "string" || !NAME.test(t.name)) v.add(R.toolName, `tools[${i}].name`, `name ${JSON.stringify(isObj(t) ? t.name : t)}`);
  });
  arr(body.system).forEach(countMarks);
  const messages = arr(body.messages).filter(isObj);
  const ids = new Set<string>();
  messages.forEach((m, i) => {
    const path = `messages[${i}]`;
    if (m.role !== "user" && m.role !== "assistant") v.add(R.roles, `${path}.role`, `role ${JSON.stringify(m.role)}`);
    const content = typeof m.content === "string" ? [{ type: "text", text: m.content }] : arr(m.content);
    const final = i === messages.length - 1;
    if (content.length === 0 && !(final && m.role === "assistant")) v.add(R.nonEmpty, path, "no content");
    let seenOther = false;
    let seenText = false;
    content.forEach((b, j) => {
      const bp = `${path}.content[${j}]`;
      if (!isObj(b)) return;
      countMarks(b);
      if (b.type === "text") {
        const t = b.text;
        if (typeof t !== "string" || t === "") v.add(R.textEmpty, bp, "empty text");
        else if (t.trim() === "") v.add(R.textWhitespace, bp, "whitespace-only text");
      }
      if (isThinking(b) && seenOther) v.add(R.thinkingFirst, bp, "a thinking block after another block");
      if (!isThinking(b)) seenOther = true;
      if (b.type === "tool_use") {
        const id = b.id;
        if (typeof id !== "string" || !ID.test(id)) v.add(R.idPattern, `${bp}.id`, `id ${JSON.stringify(id)}`);
        else if (ids.has(id)) v.add(R.idUnique, bp, `id ${id} used before`);
        if (typeof id === "string") ids.add(id);
      }
      if (b.type === "tool_result") {
        if (seenText) v.add(R.resultsFirst, bp, "a tool_result after a text block");
        const c = b.content;
        const empty = c === undefined || (typeof c === "string" ? c.trim() === "" : arr(c).length === 0);
        if (b.is_error === true && empty) v.add(R.errorContent, bp, "is_error with empty content");
        if (typeof b.tool_use_id !== "string" || !ID.test(b.tool_use_id)) v.add(R.idPattern, `${bp}.tool_use_id`, `id ${JSON.stringify(b.tool_use_id)}`);
      }
      if (b.type === "text") seenText = true;
    });
    if (m.role === "assistant") {
      const uses = content.filter((b) => isObj(b) && b.type === "tool_use").map((b) => (b as Obj).id as string);
      const next = messages[i + 1];
      const results = new Set(next && next.role === "user" ? arr(next.content).flatMap((b) => (isObj(b) && b.type === "tool_result" ? [b.tool_use_id as string] : [])) : []);
      const missing = uses.filter((id) => !results.has(id));
      if (missing.length > 0 && next !== undefined) v.add(R.useAnswered, `messages[${i + 1}]`, `no tool_result for ${missing.join(", ")}`);
      if (missing.length > 0 && next === undefined) v.add(R.useAnswered, path, `the request ends after tool_use ${missing.join(", ")}`);
      if (final) {
        const last = content.at(-1);
        if (isObj(last) && last.type === "text" && typeof last.text === "string" && /\s$/.test(last.text)) v.add(R.trailingWhitespace, `${path}.content[${content.length - 1}]`, "the final assistant message ends in whitespace");
        if (!thinking && content.some(isThinking)) v.add(R.thinkingDisabled, path, "thinking blocks in the final assistant message, thinking off");
      }
    } else {
      const prev = messages[i - 1];
      const uses = new Set(prev && prev.role === "assistant" ? arr(prev.content).flatMap((b) => (isObj(b) && b.type === "tool_use" ? [b.id as string] : [])) : []);
      content.forEach((b, j) => {
        if (isObj(b) && b.type === "tool_result" && !uses.has(b.tool_use_id as string)) v.add(R.resultAnswers, `${path}.content[${j}]`, `tool_use_id ${JSON.stringify(b.tool_use_id)}`);
      });
    }
  });
  if (thinking) {
    // The assistant message the request continues: the last one, when it is last or is answered by tool results.
    let a = -1;
    for (let i = messages.length - 1; i >= 0 && a < 0; i--) if (messages[i]!.role === "assistant") a = i;
    const after = messages[a + 1];
    const continues = a >= 0 && (a === messages.length - 1 || arr(after?.content).some((b) => isObj(b) && b.type === "tool_result"));
    if (continues && !isThinking(arr(messages[a]!.content)[0])) v.add(R.thinkingLoop, `messages[${a}].content[0]`, "thinking is on and the assistant message the request continues does not start with a thinking block");
  }
  if (breakpoints > 4) v.add(R.breakpoints, "messages", `${breakpoints} cache_control blocks`);
};
