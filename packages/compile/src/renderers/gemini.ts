import type { AssistantEntry, EntryId, JsonObject, JsonValue } from "@ctxsync/core";
import { takeBlobs, type DataCheck } from "../hidden.js";
import { MISSING_RESULT_TEXT, type PlanItem } from "../plan.js";
import { argumentsObject, configText, nonEmpty, orphanResultText, renderRuns, requestParams, summaryText, type HeadPart, type JsonRenderer, type ListGroup, type RenderEnv, type ServerStart } from "../render.js";
import type { WarningSink } from "../warnings.js";

export const RENDERER_VERSION = "gemini/2";

export interface GeminiPart {
  text?: string;
  functionCall?: { id?: string; name: string; args: JsonObject };
  functionResponse?: { id?: string; name: string; response: JsonObject };
  thoughtSignature?: string;
}
export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}
export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parametersJsonSchema?: JsonObject;
}
/**
 * The REST `GenerateContentRequest` (camelCase JSON, `POST /v1beta/{model=models/*}:generateContent`):
 * the model is named in the URL path (`CompileResult.model`), not in the body. Request params
 * (`options.params`) are body members verbatim: `generationConfig`, `safetySettings`, `toolConfig`…
 */
export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  toolConfig?: JsonObject;
  generationConfig?: JsonObject;
  safetySettings?: JsonObject[];
  cachedContent?: string;
}

/** Blob kind: `{part, signature}`: the signature goes back on part number `part` of the turn's rendered parts. */
export const THOUGHT_SIGNATURE_KIND = "gemini.thought_signature";
const checkSignature: DataCheck = (d) => {
  if (typeof d !== "object" || d === null || Array.isArray(d)) return "data must be an object";
  if (typeof d.signature !== "string") return "data.signature must be a string";
  if (typeof d.part !== "number" || !Number.isInteger(d.part) || d.part < 0) return "data.part must be a part index";
  return undefined;
};

/**
 * Google's documented placeholder for a function call that no Gemini model signed (a conversation
 * from another model, an injected call): "skip_thought_signature_validator" (Gemini API and Vertex).
 */
export const PLACEHOLDER_SIGNATURE = "skip_thought_signature_validator";

/** Models that validate thought signatures on function calls (Gemini 3 and later; 1.x and 2.x do not). */
export const validatesSignatures = (model: string): boolean => !/(^|\/)gemini-[12](\.|-|$)/i.test(model);

/** The REST model resource name for a model id: `models/<id>` (the URL path segment and `CachedContent.model`). */
export const geminiModelName = (model: string): string => (model.startsWith("models/") || model.startsWith("projects/") ? model : `models/${model}`);

const modelParts = (env: RenderEnv, w: WarningSink, e: AssistantEntry): { parts: GeminiPart[]; hidden: number } => {
  const blobs = takeBlobs(env.blobs, w, e, { [THOUGHT_SIGNATURE_KIND]: checkSignature });
  if (e.content.reasoning !== undefined) w.merged("reasoning-omitted", e.id, "Gemini thought summaries are not sent back; only thought signatures are");
  const parts: GeminiPart[] = [];
  if (e.content.text !== "") parts.push({ text: e.content.text });
  for (const tc of e.content.toolCalls ?? []) parts.push({ functionCall: { id: tc.id, name: tc.name, args: argumentsObject(tc, e.id, w) } });
  if (parts.length === 0) parts.push({ text: nonEmpty(w, e.id, "") });
  let signatures = 0;
  // A signature goes back on the exact part it came with (Gemini 3 rejects a function call without it).
  for (const b of blobs) {
    const d = b.data as { part: number; signature: string };
    const part = parts[d.part];
    if (!part) {
      w.push({ code: "hidden-dropped", entryId: e.id, blobKind: b.kind, blobProvider: b.provider, blobModel: b.model, reason: "bad-data", message: `thought signature for part ${d.part} of entry ${e.id}, which renders ${parts.length} parts` });
      continue;
    }
    parts[d.part] = { ...part, thoughtSignature: d.signature };
    signatures++;
  }
  // A step's first function call must carry a signature; one no Gemini model signed gets the placeholder.
  const first = parts.findIndex((p) => p.functionCall !== undefined);
  if (first >= 0 && parts[first]!.thoughtSignature === undefined && validatesSignatures(env.ctx.model)) {
    parts[first] = { ...parts[first]!, thoughtSignature: PLACEHOLDER_SIGNATURE };
    w.merged("thought-signature-placeholder", e.id, `function calls no Gemini model signed (another provider's) carry Google's placeholder signature ${JSON.stringify(PLACEHOLDER_SIGNATURE)}`);
  }
  return { parts, hidden: signatures };
};

const itemParts = (env: RenderEnv, w: WarningSink, i: PlanItem): { parts: GeminiPart[]; hidden: number } => {
  if (i.kind !== "missing" && i.kind !== "assistant") takeBlobs(env.blobs, w, i.entry, {});
  const text = (t: string) => ({ parts: [{ text: t }], hidden: 0 });
  switch (i.kind) {
    case "assistant":
      return modelParts(env, w, i.entry);
    case "user":
      return text(nonEmpty(w, i.entry.id, i.entry.content.text));
    case "config":
      return text(configText(i.entry.content));
    case "summary":
      return text(summaryText(i.entry.content));
    case "orphan":
      return text(orphanResultText(w, i.entry));
    case "result": {
      const { text: out, isError } = i.entry.content;
      return { parts: [{ functionResponse: { id: i.call.call.id, name: i.call.call.name, response: isError ? { error: out } : { output: out } } }], hidden: 0 };
    }
    case "missing":
      return { parts: [{ functionResponse: { id: i.call.call.id, name: i.call.call.name, response: { error: MISSING_RESULT_TEXT } } }], hidden: 0 };
  }
};

/** Where an explicit cache handle lets the request start, or undefined when it cannot be used (with a warning). */
const usableHandle = (env: RenderEnv, entries: readonly { id: EntryId; kind: string }[], w: WarningSink): ServerStart | undefined => {
  const h = env.cacheHandle;
  if (!h) return undefined;
  const unusable = (reason: "render-context-changed" | "not-in-transcript" | "other-model", why: string) => {
    w.push({ code: "cache-handle-unusable", reason, message: `cached content ${h.name} not used: ${why}; sent the full request` });
    return undefined;
  };
  if (h.renderContextHash !== undefined && h.renderContextHash !== env.renderContextHash)
    return unusable("render-context-changed", "it was created under another render context");
  if (h.model !== undefined && h.model.replace(/^models\//, "") !== env.ctx.model.replace(/^models\//, ""))
    return unusable("other-model", `it belongs to ${h.model}`);
  const server = { cachedContent: h.name, upTo: h.upTo };
  if (h.upTo === null) return { planFrom: 0, heldThrough: -1, server };
  const i = entries.findIndex((e) => e.id === h.upTo);
  if (i < 0) return unusable("not-in-transcript", `its last entry ${h.upTo} is not in this transcript`);
  // Plan from the last point with no open tool loop at or before the cached part's end.
  let from = i;
  while (from > 0 && entries[from]!.kind !== "assistant") from--;
  return { planFrom: from, heldThrough: i, server };
};

export const gemini: JsonRenderer<undefined> = {
  id: "gemini",
  version: RENDERER_VERSION,
  form: "json",
  init: () => undefined,
  fork: () => undefined,
  server: (env, entries, w) => usableHandle(env, entries, w),
  opening(env, _w, server) {
    const params = requestParams(env.ctx, ["model", "contents", "systemInstruction", "tools", "cachedContent"]);
    const head: HeadPart[] = [];
    if (server?.cachedContent !== undefined) {
      // System instruction, tools and tool config live in the cache: the request may not repeat them.
      const { toolConfig: _, ...rest } = params;
      return { params: { ...rest, cachedContent: server.cachedContent }, head, listKey: "contents", staticGroups: [] };
    }
    if (env.ctx.tools.length > 0) {
      const decls = env.ctx.tools.map((t) => ({
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parametersJsonSchema: t.parameters } : {}),
      }));
      head.push({ kind: "tools", key: "tools", value: [{ functionDeclarations: decls }] as unknown as JsonValue });
    }
    // An empty system prompt is no system prompt (Gemini refuses empty text parts).
    if (env.ctx.system) head.push({ kind: "system", key: "systemInstruction", value: { parts: [{ text: env.ctx.system }] } });
    return { params, head, listKey: "contents", staticGroups: [] };
  },
  span: (c, items) =>
    renderRuns(items, (i) => itemParts(c.env, c.warnings, i)).map((run): ListGroup => {
      const role = run.assistant ? "model" : "user";
      // A function-response turn holds only function responses: anything else the run holds (entries
      // logged during the tool loop, sent after its results) goes in the user turn after it.
      const responses = run.parts.filter((p) => p.functionResponse !== undefined);
      const others = run.parts.filter((p) => p.functionResponse === undefined);
      const contents = responses.length > 0 && others.length > 0 ? [{ role, parts: responses }, { role, parts: others }] : [{ role, parts: run.parts }];
      return {
        draft: { kind: "entry", entryIds: run.items.flatMap((i) => (i.kind === "missing" ? [] : [i.entry.id])), role, ...(run.hidden ? { hidden: run.hidden } : {}) },
        items: contents as unknown as JsonValue[],
      };
    }),
};

/**
 * The same request as `@google/genai` parameters (`GenerateContentParameters`): what to pass to
 * `ai.models.generateContent` when using the SDK. The SDK serializes its own JSON — the same JSON
 * value as `body`, with its own member order (docs/compile.md: the Gemini choice); to send `body`'s
 * exact bytes, POST it to `…/v1beta/models/{model}:generateContent` yourself.
 */
export const toGenaiParameters = (model: string, request: GeminiRequest): { model: string; contents: GeminiContent[]; config: JsonObject } => {
  const { contents, generationConfig, ...rest } = request;
  return { model, contents, config: { ...(rest as JsonObject), ...(generationConfig ?? {}) } };
};
