import { arr, isObj, rule, type Obj, type Violations } from "./rules.js";

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export const CHAT_RULES = {
  messages: rule("openai-chat.messages-nonempty", "[] is too short - 'messages'", "OpenAI API 400 for an empty message list"),
  followedByTools: rule(
    "openai-chat.tool-calls-answered",
    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: …",
    "OpenAI Chat Completions 400 (openai-python #1795, vercel/ai #4209…)",
  ),
  toolFollowsCall: rule(
    "openai-chat.tool-message-answers-call",
    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
    "OpenAI Chat Completions 400 (the API's own spelling)",
  ),
  assistantContent: rule("openai-chat.assistant-content", "Invalid value for 'content': expected a string, got null.", "OpenAI 400 for an assistant message with neither content nor tool_calls"),
  roles: rule("openai-chat.roles", "Invalid value: '…'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", "OpenAI Chat Completions 400"),
  name: rule(
    "openai-chat.function-name-pattern",
    "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
    "OpenAI 400 (also for messages[i].tool_calls[j].function.name); names are at most 64 characters",
  ),
  toolCount: rule("openai-chat.max-tools", "Invalid 'tools': array too long. Expected an array with maximum length 128", "OpenAI Chat Completions 400"),
  breakpoints: rule("openai-chat.max-breakpoints", "At most 4 breakpoints written per request.", "PROVIDERS.md §1, prompt_cache_options (SDK)"),
  model: rule("openai-chat.model", "you must provide a model parameter", "OpenAI 400"),
} as const;

/** The structural rules of an OpenAI-compatible chat request (OpenAI Chat Completions, DeepSeek). */
export const checkChat = (body: Obj, v: Violations): void => {
  const R = CHAT_RULES;
  if (typeof body.model !== "string" || body.model === "") v.add(R.model, "model", "no model");
  const tools = arr(body.tools);
  if (tools.length > 128) v.add(R.toolCount, "tools", `${tools.length} tools`);
  tools.forEach((t, i) => {
    const name = isObj(t) && isObj(t.function) ? t.function.name : undefined;
    if (typeof name !== "string" || !NAME.test(name)) v.add(R.name, `tools[${i}].function.name`, `name ${JSON.stringify(name)}`);
  });
  const messages = arr(body.messages);
  if (messages.length === 0) v.add(R.messages, "messages", "no messages");
  let breakpoints = 0;
  let open: { at: number; ids: Set<string> } | undefined;
  const closeOpen = (at: number, why: string) => {
    if (open && open.ids.size > 0) v.add(R.followedByTools, `messages[${open.at}]`, `${[...open.ids].join(", ")} unanswered before messages[${at}] (${why})`);
    open = undefined;
  };
  messages.forEach((m, i) => {
    if (!isObj(m)) return;
    const path = `messages[${i}]`;
    for (const p of arr(m.content)) if (isObj(p) && p.prompt_cache_breakpoint !== undefined) breakpoints++;
    switch (m.role) {
      case "tool": {
        const id = m.tool_call_id;
        if (!open || typeof id !== "string" || !open.ids.has(id)) v.add(R.toolFollowsCall, path, `tool_call_id ${JSON.stringify(id)} answers no call of the assistant message before it`);
        else open.ids.delete(id);
        return;
      }
      case "assistant": {
        closeOpen(i, "an assistant message");
        const calls = arr(m.tool_calls);
        if ((m.content === null || m.content === undefined) && calls.length === 0) v.add(R.assistantContent, path, "no content and no tool_calls");
        calls.forEach((c, j) => {
          const name = isObj(c) && isObj(c.function) ? c.function.name : undefined;
          if (typeof name !== "string" || !NAME.test(name)) v.add(R.name, `${path}.tool_calls[${j}].function.name`, `name ${JSON.stringify(name)}`);
        });
        if (calls.length > 0) open = { at: i, ids: new Set(calls.flatMap((c) => (isObj(c) && typeof c.id === "string" ? [c.id] : []))) };
        return;
      }
      case "user":
      case "system":
      case "developer":
        closeOpen(i, `a ${m.role} message`);
        return;
      default:
        v.add(R.roles, `${path}.role`, `role ${JSON.stringify(m.role)}`);
    }
  });
  closeOpen(messages.length, "the end of the request");
  if (breakpoints > 4) v.add(R.breakpoints, "messages", `${breakpoints} prompt_cache_breakpoint markers`);
};
