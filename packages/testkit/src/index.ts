export { createRng, replayingSeed, seedFromEnv, seedsToRun, testSeed } from "./rng.js";
export type { Rng } from "./rng.js";
export { bytesEqual, createNetwork, DEFAULT_FAULTS, emptyStats, NO_FAULTS } from "./network.js";
export type { Authored, Faults, Message, MessageType, Network, NetworkOptions, NetworkStats, RemoteOrigin, Replica, Violation } from "./network.js";
export { assertConverged, checkConvergence } from "./check.js";
export type { ConvergenceReport } from "./check.js";
export { appendTurn, randomOp } from "./ops.js";
export { agentStep, randomTurn, sentence, toolCall, userTurn } from "./turns.js";
export { checkSchedule, forEachSeed, runSchedule } from "./schedule.js";
export type { PropertyOptions, ScheduleOptions } from "./schedule.js";
export { replayTranscript, transcriptTurns } from "./traces.js";
export type { ReplayOptions } from "./traces.js";
// The trace corpus and generator are @ctxsync/traces (compile's tests use them without testkit); re-exported.
export { REQUIRE_TRACES, sharedTracesMissing, traceCorpus, traceFiles, tracesDir } from "@ctxsync/traces";
export type { TraceCorpus } from "@ctxsync/traces";
export { addCoverage, emptyCoverage } from "./stats.js";
export type { Coverage } from "./stats.js";
export { generateConversation, generateCorpus, generateTrace, importConversation, toJsonl, TRACE_STYLES } from "@ctxsync/traces";
export type { GeneratedConversation, TraceOptions, TraceStyle } from "@ctxsync/traces";
export {
  autoCache,
  CACHE_NOT_FOUND,
  CORRUPTED_SIGNATURE,
  countTokens,
  createAnthropicSimulator,
  createDeepSeekSimulator,
  createGeminiSimulator,
  createOpenAISimulator,
  createPrefixCache,
  createVirtualClock,
  firstTokens,
  MISSING_SIGNATURE,
  quantize,
  REASONING_REQUIRED,
  segment,
  streamPieces,
  tokenize,
} from "./providers/index.js";
export type {
  AutoCacheResult,
  CacheEntry,
  Chain,
  Fault,
  GeminiSimulator,
  Latency,
  OpenAISimulator,
  PrefixCache,
  ProviderSimulator,
  RequestKind,
  Script,
  ScriptAnswer,
  ScriptRequest,
  Segment,
  SimCounters,
  SimFamily,
  SimOptions,
  SimRecord,
  VirtualClock,
} from "./providers/index.js";
