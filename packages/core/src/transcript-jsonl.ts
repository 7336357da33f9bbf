import { contentProblem, toolCallArgumentsText, toolCallFromText, type Entry, type EntryInput } from "./entry.js";
import { coreError } from "./errors.js";
import { MAIN } from "./branch.js";
import { isBranchName, type BranchName } from "./ids.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";
import { hidden, type AppendOptions, type ConversationLog } from "./log.js";
import { LOG_ROOTS } from "./names.js";

/**
 * The JSONL transcript format of agent traces: one OpenAI-style message per line,
 * `{role, content, tool_calls?: [{id, name, arguments}], tool_call_id?}`. Import and export
 * are exact: every message comes back deep-equal, every string byte-exact.
 */
export type TranscriptToolCall = {
  id: string;
  name: string;
  arguments: string;
};
export interface TranscriptMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  tool_calls?: TranscriptToolCall[];
  tool_call_id?: string;
  reasoning_content?: string;
  [extra: string]: JsonValue | undefined;
}

/** Conversation info key under which an imported leading system prompt is kept (it is not a log entry). */
export const SYSTEM_PROMPT_INFO = "systemPrompt";

const KNOWN = new Set(["role", "content", "tool_calls", "tool_call_id", "reasoning_content"]);
const extrasOf = (m: JsonObject): JsonObject | undefined => {
  const extra: JsonObject = {};
  let any = false;
  for (const [k, v] of Object.entries(m)) {
    if (!KNOWN.has(k)) {
      extra[k] = v;
      any = true;
    }
  }
  return any ? extra : undefined;
};

export const parseJsonl = (text: string): TranscriptMessage[] => {
  const out: TranscriptMessage[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw coreError("invalid-transcript", `line ${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    out.push(checkMessage(v, i + 1));
  });
  return out;
};

const checkMessage = (v: unknown, line: number): TranscriptMessage => {
  const at = `line ${line}`;
  if (!isJsonObject(v)) throw coreError("invalid-transcript", `${at}: a message must be an object`);
  if (!["system", "user", "assistant", "tool"].includes(v.role as string))
    throw coreError("invalid-transcript", `${at}: unknown role ${JSON.stringify(v.role)}`);
  if (typeof v.content !== "string") throw coreError("invalid-transcript", `${at}: content must be a string`);
  if (v.tool_calls !== undefined) {
    if (v.role !== "assistant" || !Array.isArray(v.tool_calls))
      throw coreError("invalid-transcript", `${at}: tool_calls must be an array on an assistant message`);
    for (const tc of v.tool_calls) {
      if (!isJsonObject(tc) || typeof tc.id !== "string" || typeof tc.name !== "string" || typeof tc.arguments !== "string")
        throw coreError("invalid-transcript", `${at}: a tool call needs string id, name and arguments`);
      if (Object.keys(tc).some((k) => !["id", "name", "arguments"].includes(k)))
        throw coreError("invalid-transcript", `${at}: a tool call has unknown fields`);
    }
  }
  if (v.role === "tool" && typeof v.tool_call_id !== "string")
    throw coreError("invalid-transcript", `${at}: a tool message needs tool_call_id`);
  if (v.role !== "tool" && v.tool_call_id !== undefined)
    throw coreError("invalid-transcript", `${at}: tool_call_id is only allowed on tool messages`);
  if (v.reasoning_content !== undefined && (v.role !== "assistant" || typeof v.reasoning_content !== "string"))
    throw coreError("invalid-transcript", `${at}: reasoning_content must be a string on an assistant message`);
  return v as TranscriptMessage;
};

/** Map one message to the entry it becomes. A leading system message is not an entry (see importMessages). */
export const messageToEntry = (m: TranscriptMessage): EntryInput => {
  const extra = extrasOf(m as JsonObject);
  const withExtra = extra ? { extra } : {};
  switch (m.role) {
    case "user":
      return { kind: "user", content: { text: m.content, ...withExtra } };
    case "assistant":
      return {
        kind: "assistant",
        content: {
          text: m.content,
          ...(m.reasoning_content !== undefined ? { reasoning: m.reasoning_content } : {}),
          ...(m.tool_calls !== undefined ? { toolCalls: m.tool_calls.map((tc) => toolCallFromText(tc.id, tc.name, tc.arguments)) } : {}),
          ...withExtra,
        },
      };
    case "tool":
      return { kind: "tool_result", content: { callId: m.tool_call_id!, text: m.content, ...withExtra } };
    case "system":
      if (extra) throw coreError("invalid-transcript", "a system message cannot carry extra fields");
      return { kind: "config", content: { changes: { system: m.content } } };
  }
};

/** The message an entry exports as; undefined for entries with no message form (config changes other than `system`, summaries). */
export const entryToMessage = (e: Entry): TranscriptMessage | undefined => {
  switch (e.kind) {
    case "user":
      return { role: "user", content: e.content.text, ...(e.content.extra ?? {}) };
    case "assistant": {
      const m: TranscriptMessage = { role: "assistant", content: e.content.text };
      if (e.content.toolCalls !== undefined)
        m.tool_calls = e.content.toolCalls.map((tc) => ({ id: tc.id, name: tc.name, arguments: toolCallArgumentsText(tc) }));
      if (e.content.reasoning !== undefined) m.reasoning_content = e.content.reasoning;
      return Object.assign(m, e.content.extra ?? {});
    }
    case "tool_result":
      return { role: "tool", content: e.content.text, tool_call_id: e.content.callId, ...(e.content.extra ?? {}) };
    case "config": {
      const keys = Object.keys(e.content.changes);
      const system = e.content.changes.system;
      return keys.length === 1 && typeof system === "string" ? { role: "system", content: system } : undefined;
    }
    case "summary":
      return undefined;
  }
};

export interface ImportOptions extends Omit<AppendOptions, "id"> {
  readonly branch?: BranchName | string;
}

/**
 * Append a transcript to a branch in one transaction, all or nothing: every message is checked
 * before anything is written (a Yjs transaction cannot be rolled back), so a transcript with one bad
 * message changes nothing — no entry, no branch, no system prompt. A leading system message becomes
 * the conversation's `systemPrompt` info (the system prompt is render context, not log content);
 * a later system message becomes a `config` entry.
 */
export const importMessages = (log: ConversationLog, messages: readonly TranscriptMessage[], opts: ImportOptions = {}): Entry[] => {
  const branch = opts.branch ?? MAIN;
  if (!isBranchName(branch)) throw coreError("invalid-branch", `invalid branch name ${JSON.stringify(branch)}`);
  let rest = messages;
  const first = messages[0];
  const leadingSystem = first?.role === "system" && log.branch(branch) === undefined ? first : undefined;
  if (leadingSystem) rest = messages.slice(1);
  const offset = leadingSystem ? 2 : 1;
  const inputs = rest.map((m, i) => {
    let input: EntryInput;
    try {
      input = messageToEntry(m);
    } catch (e) {
      throw coreError("invalid-transcript", `message ${i + offset}: ${(e as Error).message}`);
    }
    const p = contentProblem(input.kind, input.content);
    if (p) throw coreError("invalid-transcript", `message ${i + offset}: ${p}`);
    return input;
  });
  if (log.branch(branch) === undefined && hidden(log.doc.getMap(LOG_ROOTS.branches), branch))
    throw coreError("unknown-branch", `branch ${JSON.stringify(branch)} is momentarily unavailable: a concurrent change to it has not arrived yet`);
  if (leadingSystem && log.info(SYSTEM_PROMPT_INFO) !== undefined)
    throw coreError("meta-immutable", `conversation info ${SYSTEM_PROMPT_INFO} is already set`);
  return log.transact(() => {
    if (leadingSystem) log.setInfo(SYSTEM_PROMPT_INFO, leadingSystem.content);
    const perEntry = (e: EntryInput): AppendOptions =>
      e.kind === "assistant" ? opts : { ...(opts.time !== undefined ? { time: opts.time } : {}) };
    const out: Entry[] = [];
    for (const input of inputs) out.push(log.append(branch, input, perEntry(input)));
    return out;
  });
};

export const importJsonl = (log: ConversationLog, text: string, opts: ImportOptions = {}): Entry[] =>
  importMessages(log, parseJsonl(text), opts);

/** The messages of a branch, with the imported system prompt first when there is one. */
export const exportMessages = (log: ConversationLog, branch: BranchName | string = MAIN): TranscriptMessage[] => {
  const out: TranscriptMessage[] = [];
  const system = log.info(SYSTEM_PROMPT_INFO);
  if (typeof system === "string") out.push({ role: "system", content: system });
  for (const e of log.transcript(branch)) {
    const m = entryToMessage(e);
    if (m) out.push(m);
  }
  return out;
};

export const exportJsonl = (log: ConversationLog, branch: BranchName | string = MAIN): string =>
  exportMessages(log, branch)
    .map((m) => JSON.stringify(m))
    .join("\n") + "\n";
