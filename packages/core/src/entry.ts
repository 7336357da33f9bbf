import { canonicalJson } from "./canonical.js";
import { coreError } from "./errors.js";
import { isEntryId, type DeviceId, type EntryId } from "./ids.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";

/** Who wrote an entry and when; never rendered into a prompt, never hashed. */
export interface EntryMeta {
  readonly device: DeviceId;
  /** Wall-clock milliseconds since the epoch on the authoring device. */
  readonly time: number;
  readonly provider?: string;
  readonly model?: string;
}

/**
 * A tool call. Its arguments are kept in one form: `arguments` (a JSON value, rendered as canonical
 * JSON) when the model's text was canonical JSON, else `argumentsText` (the exact text, so that an
 * export is byte-exact; `toolCallArguments` parses it). Storing both would cost the bytes twice.
 */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments?: JsonValue;
  readonly argumentsText?: string;
}

export interface UserContent {
  readonly text: string;
  readonly extra?: JsonObject;
}
export interface AssistantContent {
  readonly text: string;
  /** Visible reasoning, kept in history (rendered back by default so the prefix stays stable). */
  readonly reasoning?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly extra?: JsonObject;
}
export interface ToolResultContent {
  /** The tool call id this result answers. */
  readonly callId: string;
  readonly text: string;
  readonly isError?: boolean;
  readonly extra?: JsonObject;
}
/** A change of mode, tools, sandbox, working directory or system prompt; appended, never edited in. */
export interface ConfigContent {
  readonly changes: JsonObject;
}
/** A compaction: stands for the entries from `from` to `to` (inclusive) of its parent chain. */
export interface SummaryContent {
  readonly text: string;
  readonly from: EntryId;
  readonly to: EntryId;
}

export interface ContentByKind {
  user: UserContent;
  assistant: AssistantContent;
  tool_result: ToolResultContent;
  config: ConfigContent;
  summary: SummaryContent;
}
export type EntryKind = keyof ContentByKind;
export const ENTRY_KINDS: readonly EntryKind[] = ["user", "assistant", "tool_result", "config", "summary"];

type EntryOf<K extends EntryKind> = {
  readonly id: EntryId;
  readonly parent: EntryId | null;
  readonly kind: K;
  readonly content: ContentByKind[K];
  readonly meta: EntryMeta;
};
export type UserEntry = EntryOf<"user">;
export type AssistantEntry = EntryOf<"assistant">;
export type ToolResultEntry = EntryOf<"tool_result">;
export type ConfigEntry = EntryOf<"config">;
export type SummaryEntry = EntryOf<"summary">;
/** An immutable log entry, discriminated by `kind`. */
export type Entry = UserEntry | AssistantEntry | ToolResultEntry | ConfigEntry | SummaryEntry;

/** What a caller supplies to append: the kind and its content (ids, parent and meta are filled in). */
export type EntryInput = {
  [K in EntryKind]: { readonly kind: K; readonly content: ContentByKind[K] };
}[EntryKind];

/** The bytes a prefix hash covers: kind and content only; ids and metadata are not part of a prompt. */
export const canonicalEntry = (e: Pick<Entry, "kind" | "content">): string =>
  canonicalJson({ kind: e.kind, content: e.content });

// ---- shape checks: pure, used by the typed API and by the update validator ----

const isStr = (v: unknown): v is string => typeof v === "string";
const optStr = (v: unknown): boolean => v === undefined || typeof v === "string";
const optObj = (v: unknown): boolean => v === undefined || isJsonObject(v);

const isJsonValue = (v: unknown, depth = 0): boolean => {
  if (depth > 64) return false;
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJsonValue(x, depth + 1));
  if (isJsonObject(v)) return Object.values(v).every((x) => isJsonValue(x, depth + 1));
  return false;
};

const onlyKeys = (o: object, allowed: readonly string[]): string | undefined =>
  Object.keys(o).find((k) => !allowed.includes(k));

const toolCallProblem = (tc: unknown, i: number): string | undefined => {
  if (!isJsonObject(tc)) return `toolCalls[${i}] is not an object`;
  const extra = onlyKeys(tc, ["id", "name", "arguments", "argumentsText"]);
  if (extra) return `toolCalls[${i}] has unknown field ${extra}`;
  if (!isStr(tc.id)) return `toolCalls[${i}].id must be a string`;
  if (!isStr(tc.name)) return `toolCalls[${i}].name must be a string`;
  if (tc.arguments === undefined && tc.argumentsText === undefined)
    return `toolCalls[${i}] needs arguments or argumentsText`;
  if (tc.arguments !== undefined && !isJsonValue(tc.arguments)) return `toolCalls[${i}].arguments is not JSON`;
  if (!optStr(tc.argumentsText)) return `toolCalls[${i}].argumentsText must be a string`;
  return undefined;
};

/** Why `content` is not valid for `kind`, or undefined when it is. */
export const contentProblem = (kind: unknown, content: unknown): string | undefined => {
  if (!isJsonObject(content)) return "content must be an object";
  if (!isJsonValue(content)) return "content is not plain JSON";
  switch (kind) {
    case "user": {
      const x = onlyKeys(content, ["text", "extra"]);
      if (x) return `user content has unknown field ${x}`;
      if (!isStr(content.text)) return "user content needs text";
      return optObj(content.extra) ? undefined : "extra must be an object";
    }
    case "assistant": {
      const x = onlyKeys(content, ["text", "reasoning", "toolCalls", "extra"]);
      if (x) return `assistant content has unknown field ${x}`;
      if (!isStr(content.text)) return "assistant content needs text";
      if (!optStr(content.reasoning)) return "reasoning must be a string";
      if (!optObj(content.extra)) return "extra must be an object";
      if (content.toolCalls === undefined) return undefined;
      if (!Array.isArray(content.toolCalls)) return "toolCalls must be an array";
      for (let i = 0; i < content.toolCalls.length; i++) {
        const p = toolCallProblem(content.toolCalls[i], i);
        if (p) return p;
      }
      return undefined;
    }
    case "tool_result": {
      const x = onlyKeys(content, ["callId", "text", "isError", "extra"]);
      if (x) return `tool_result content has unknown field ${x}`;
      if (!isStr(content.callId)) return "tool_result needs callId";
      if (!isStr(content.text)) return "tool_result needs text";
      if (content.isError !== undefined && typeof content.isError !== "boolean") return "isError must be boolean";
      return optObj(content.extra) ? undefined : "extra must be an object";
    }
    case "config": {
      const x = onlyKeys(content, ["changes"]);
      if (x) return `config content has unknown field ${x}`;
      return isJsonObject(content.changes) ? undefined : "config needs a changes object";
    }
    case "summary": {
      const x = onlyKeys(content, ["text", "from", "to"]);
      if (x) return `summary content has unknown field ${x}`;
      if (!isStr(content.text)) return "summary needs text";
      if (!isEntryId(content.from) || !isEntryId(content.to)) return "summary needs from and to entry ids";
      return undefined;
    }
    default:
      return `unknown entry kind ${JSON.stringify(kind)}`;
  }
};

/** Why `v` is not a well-formed stored entry, or undefined when it is. Parent existence is checked elsewhere. */
export const entryProblem = (v: unknown): string | undefined => {
  if (!isJsonObject(v)) return "entry must be an object";
  const x = onlyKeys(v, ["id", "parent", "kind", "content", "meta"]);
  if (x) return `entry has unknown field ${x}`;
  if (!isEntryId(v.id)) return "entry id is missing or malformed";
  if (v.parent !== null && !isEntryId(v.parent)) return "entry parent must be an entry id or null";
  if (v.parent === v.id) return "entry cannot be its own parent";
  const meta = v.meta;
  if (!isJsonObject(meta)) return "entry meta must be an object";
  const mx = onlyKeys(meta, ["device", "time", "provider", "model"]);
  if (mx) return `entry meta has unknown field ${mx}`;
  if (!isStr(meta.device) || meta.device.length === 0) return "entry meta needs a device";
  if (typeof meta.time !== "number" || !Number.isFinite(meta.time)) return "entry meta needs a numeric time";
  if (!optStr(meta.provider) || !optStr(meta.model)) return "provider and model must be strings";
  return contentProblem(v.kind, v.content);
};

export const assertEntry = (v: unknown): Entry => {
  const p = entryProblem(v);
  if (p) throw coreError("invalid-entry", p);
  return v as Entry;
};

/** The argument text a model saw for a tool call: the exact text if kept, else canonical JSON. */
export const toolCallArgumentsText = (tc: ToolCall): string =>
  tc.argumentsText ?? canonicalJson(tc.arguments ?? {});

/** Build a ToolCall from the argument text a model produced: the value when the text is canonical, else the exact text. */
export const toolCallFromText = (id: string, name: string, text: string): ToolCall => {
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch {
    return { id, name, argumentsText: text };
  }
  return canonicalJson(parsed) === text ? { id, name, arguments: parsed } : { id, name, argumentsText: text };
};

/** A tool call's arguments as a JSON value (parsing `argumentsText` when needed); undefined when they are not valid JSON. */
export const toolCallArguments = (tc: ToolCall): JsonValue | undefined => {
  if (tc.arguments !== undefined) return tc.arguments;
  if (tc.argumentsText === undefined) return undefined;
  try {
    return JSON.parse(tc.argumentsText) as JsonValue;
  } catch {
    return undefined;
  }
};
