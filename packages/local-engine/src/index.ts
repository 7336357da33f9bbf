export { createEngine } from "./engine.js";
export type {
  CacheReport,
  Engine,
  EngineOptions,
  GenerateEvent,
  GenerateRequest,
  RestoreResult,
  RoutingOptions,
  SamplingOptions,
  SaveResult,
  SlotInfo,
} from "./engine.js";
export { startEngine } from "./start.js";
export type { RunningEngine, StartEngineOptions } from "./start.js";
export { createApp } from "./server.js";
export { runEngineCommand, parseEngineArgs, ENGINE_USAGE } from "./cli.js";
export type { EngineCommand } from "./cli.js";
export { engineError, isEngineError, httpStatusFor } from "./errors.js";
export type { EngineError, EngineErrorCode } from "./errors.js";
export { generateTestModel } from "./gguf/test-model.js";
export type { TestModelInfo, TestModelOptions } from "./gguf/test-model.js";
export { writeGguf, encodeGgufHeader } from "./gguf/writer.js";
export { checkGgufHeader } from "./gguf/header.js";
export type { GgufFile, GgufTensor, GgufValue } from "./gguf/writer.js";
export { buildSpmVocab } from "./gguf/vocab.js";
export type { SpmVocab } from "./gguf/vocab.js";
export { routeRequest, slotsToEvict } from "./slot-router.js";
export type { Route, RouteReason, RouteRequest, SlotView } from "./slot-router.js";
export { createStateStore, STATE_FORMAT } from "./state-store.js";
export type { StateSidecar, StateStore } from "./state-store.js";
export { hashFile, hashTokens, commonPrefixLength } from "./hashing.js";
export type { ChatMessage, RenderedChat } from "./chat-render.js";
