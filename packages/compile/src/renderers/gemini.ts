import type { Entry, EntryId, JsonObject, JsonValue } from "@ctxsync/core";
import { takeBlobs, type DataCheck } from "../hidden.js";
import { renderLayout, type HeadPart, type ListGroup } from "../json-layout.js";
import { argumentsObject, configText, nonEmpty, orphanResultText, renderRuns, requestParams, summaryText, toolNames, type RenderEnv, type Renderer } from "../render.js";

export const RENDERER_VERSION = "gemini/1";

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
/** `generateContent` parameters in the shape of `@google/genai` (`GenerateContentParameters`). */
export interface GeminiRequest {
  model: string;
  contents: GeminiContent[];
  config?: {
    systemInstruction?: { parts: { text: string }[] };
    tools?: { functionDeclarations: { name: string; description?: string; parametersJsonSchema?: JsonObject }[] }[];
    cachedContent?: string;
  };
}

/** Blob kind: `{part, signature}`: the signature goes back on part number `part` of the turn's rendered parts. */
export const THOUGHT_SIGNATURE_KIND = "gemini.thought_signature";
const checkSignature: DataCheck = (d) => {
  if (typeof d !== "object" || d === null || Array.isArray(d)) return "data must be an object";
  if (typeof d.signature !== "string") return "data.signature must be a string";
  if (typeof d.part !== "number" || !Number.isInteger(d.part) || d.part < 0) return "data.part must be a part index";
  return undefined;
};

const entryParts = (env: RenderEnv, e: Entry, names: Map<EntryId, string>): { parts: GeminiPart[]; hidden: number } => {
  const blobs = takeBlobs(env.blobs, e, { [THOUGHT_SIGNATURE_KIND]: checkSignature });
  switch (e.kind) {
    case "user":
      return { parts: [{ text: nonEmpty(env, e.id, e.content.text) }], hidden: 0 };
    case "config":
      return { parts: [{ text: configText(e.content) }], hidden: 0 };
    case "summary":
      return { parts: [{ text: summaryText(e.content) }], hidden: 0 };
    case "tool_result": {
      const { callId, text, isError } = e.content;
      const name = names.get(e.id);
      if (name === undefined) return { parts: [{ text: orphanResultText(env, e) }], hidden: 0 };
      return { parts: [{ functionResponse: { id: callId, name, response: isError ? { error: text } : { output: text } } }], hidden: 0 };
    }
    case "assistant": {
      if (e.content.reasoning !== undefined)
        env.warnings.reasoning("reasoning-omitted", e.id, "Gemini thought summaries are not sent back; only thought signatures are");
      const parts: GeminiPart[] = [];
      if (e.content.text !== "") parts.push({ text: e.content.text });
      for (const tc of e.content.toolCalls ?? []) parts.push({ functionCall: { id: tc.id, name: tc.name, args: argumentsObject(tc, e.id, env.warnings) } });
      if (parts.length === 0) parts.push({ text: nonEmpty(env, e.id, "") });
      let signatures = 0;
      // A signature goes back on the exact part it came with (Gemini 3 rejects a function call without it).
      for (const b of blobs) {
        const d = b.data as { part: number; signature: string };
        const part = parts[d.part];
        if (!part) {
          env.warnings.push({ code: "hidden-dropped", entryId: e.id, blobKind: b.kind, blobProvider: b.provider, blobModel: b.model, reason: "bad-data", message: `thought signature for part ${d.part} of entry ${e.id}, which renders ${parts.length} parts` });
          continue;
        }
        parts[d.part] = { ...part, thoughtSignature: d.signature };
        signatures++;
      }
      return { parts, hidden: signatures };
    }
  }
};

/** Where an explicit cache handle lets the request start, or undefined when it cannot be used (with a warning). */
const usableHandle = (env: RenderEnv): { name: string; from: number; upTo: EntryId | null } | undefined => {
  const h = env.cacheHandle;
  if (!h) return undefined;
  const unusable = (reason: "render-context-changed" | "not-in-transcript" | "other-model", why: string) => {
    env.warnings.push({ code: "cache-handle-unusable", reason, message: `cached content ${h.name} not used: ${why}; sent the full request` });
    return undefined;
  };
  if (h.renderContextHash !== undefined && h.renderContextHash !== env.renderContextHash)
    return unusable("render-context-changed", "it was created under another render context");
  if (h.model !== undefined && h.model.replace(/^models\//, "") !== env.ctx.model.replace(/^models\//, ""))
    return unusable("other-model", `it belongs to ${h.model}`);
  if (h.upTo === null) return { name: h.name, from: 0, upTo: null };
  const i = env.entries.findIndex((e) => e.id === h.upTo);
  if (i < 0) return unusable("not-in-transcript", `its last entry ${h.upTo} is not in this transcript`);
  return { name: h.name, from: i + 1, upTo: h.upTo };
};

export const gemini: Renderer<GeminiRequest> = {
  id: "gemini",
  version: RENDERER_VERSION,
  render(env) {
    const params = requestParams(env.ctx, ["systemInstruction", "tools", "cachedContent"]);
    const names = toolNames(env.entries);
    const cache = usableHandle(env);
    const head: HeadPart[] = [];
    if (!cache) {
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
    }
    const list: ListGroup[] = renderRuns(env.entries.slice(cache?.from ?? 0), (e) => entryParts(env, e, names)).map((run) => {
      const role = run.assistant ? "model" : "user";
      return {
        draft: { kind: "entry", entryIds: run.entries.map((e) => e.id), role, ...(run.hidden ? { hidden: run.hidden } : {}) },
        items: [{ role, parts: run.parts } as unknown as JsonValue],
      };
    });
    const configParams: JsonObject = cache ? { ...params, cachedContent: cache.name } : { ...params };
    const out = renderLayout<GeminiRequest>({ params: { model: env.ctx.model }, configKey: "config", configParams, head, listKey: "contents", list });
    return cache ? { ...out, server: { cachedContent: cache.name, upTo: cache.upTo } } : out;
  },
};
