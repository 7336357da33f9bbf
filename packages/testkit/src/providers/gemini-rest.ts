// Test and benchmark helper, a stopgap until compile's Gemini renderer emits the REST GenerateContentRequest (issue 11): the
// providers' Gemini transport sends REST bodies only, and compile writes @google/genai's parameter shape
// ({model, config, contents}). This moves `config`'s members where the REST body has them
// (systemInstruction, tools, toolConfig, cachedContent at the top, the rest under generationConfig),
// static parts first and `contents` last, and hands the transport that body.
import { canonicalJson, type JsonObject, type JsonValue } from "@ctxsync/core";
import type { Transport } from "@ctxsync/providers";

const TOP = new Set(["systemInstruction", "tools", "toolConfig", "cachedContent"]);

export const geminiRestBody = (sdkBody: string): string => {
  const req = JSON.parse(sdkBody) as { config?: JsonObject; contents: JsonValue };
  const head: string[] = [];
  const gen: JsonObject = {};
  const top: JsonObject = {};
  for (const [k, v] of Object.entries(req.config ?? {})) (TOP.has(k) ? top : gen)[k] = v;
  if (Object.keys(gen).length > 0) head.push(`"generationConfig":${canonicalJson(gen)}`);
  for (const k of ["cachedContent", "toolConfig", "tools", "systemInstruction"]) if (top[k] !== undefined) head.push(`${JSON.stringify(k)}:${canonicalJson(top[k]!)}`);
  return `{${[...head, `"contents":${canonicalJson(req.contents)}`].join(",")}}`;
};

/** The transport with `send` bridged; everything else (e.g. the Gemini transport's `caches`) kept. */
export const geminiRestBridge = <T extends Transport>(t: T): T => ({
  ...t,
  send: (input) => t.send({ ...input, compiled: { ...input.compiled, body: geminiRestBody(input.compiled.body) } }),
});
