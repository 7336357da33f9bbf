export { createRng, seedFromEnv } from "./rng.js";
export type { Rng } from "./rng.js";
export { bytesEqual, createNetwork, DEFAULT_FAULTS, emptyStats, NO_FAULTS } from "./network.js";
export type { Authored, Faults, Message, MessageType, Network, NetworkOptions, NetworkStats, RemoteOrigin, Replica, Violation } from "./network.js";
export { assertConverged, checkConvergence } from "./check.js";
export type { ConvergenceReport } from "./check.js";
export { appendTurn, randomOp } from "./ops.js";
export { agentStep, randomTurn, sentence, toolCall, userTurn } from "./turns.js";
export { checkSchedule, forEachSeed, runSchedule } from "./schedule.js";
export type { PropertyOptions, ScheduleOptions } from "./schedule.js";
export { replayTranscript, traceFiles, tracesDir, transcriptTurns } from "./traces.js";
export type { ReplayOptions } from "./traces.js";
export { addCoverage, emptyCoverage } from "./stats.js";
export type { Coverage } from "./stats.js";
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
