import { canonicalJson } from "@ctxsync/core";

/**
 * The REST `GenerateContentRequest` bytes for a request in @google/genai's parameter shape
 * (`{model, contents, config}`, what compile's Gemini renderer emitted before the REST body was
 * decided): request parameters first (`cachedContent`, `generationConfig` — the generation fields
 * of `config`), then `systemInstruction`, `tools`, `toolConfig`, then `contents`, every value in
 * canonical JSON; the model stays outside (it is in the URL). A bridge until compile emits the
 * REST body itself; the same input always gives the same bytes, so prefixes stay stable.
 */
export const geminiRestBody = (request: unknown): string => {
  const { contents, config = {} } = request as { contents: unknown; config?: Record<string, unknown> };
  const { systemInstruction, tools, toolConfig, cachedContent, ...generation } = config;
  const params: Record<string, unknown> = {};
  if (cachedContent !== undefined) params.cachedContent = cachedContent;
  if (Object.keys(generation).length > 0) params.generationConfig = generation;
  const members = [
    ...Object.keys(params)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(params[k])}`),
    ...(systemInstruction !== undefined ? [`"systemInstruction":${canonicalJson(systemInstruction)}`] : []),
    ...(tools !== undefined ? [`"tools":${canonicalJson(tools)}`] : []),
    ...(toolConfig !== undefined ? [`"toolConfig":${canonicalJson(toolConfig)}`] : []),
    `"contents":${canonicalJson(contents)}`,
  ];
  return `{${members.join(",")}}`;
};
