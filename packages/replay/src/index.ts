export { createReplayer } from "./replayer.js";
export { docHost } from "./doc-host.js";
export type { DocHostOptions } from "./doc-host.js";
export type {
  BeforeTurn,
  RebuildHow,
  RebuildOutcome,
  ReplayEvent,
  Replayer,
  ReplayerOptions,
  ReplayHost,
  ScratchPlan,
  TurnOutcome,
  TurnReport,
  UsageInput,
} from "./replayer.js";
export { detect, expectedCached, tolerance } from "./detect.js";
export type { CacheGranularity, Detection, DetectInput } from "./detect.js";
export { handleOnPath, isLive, lapsed, observedHandle, rebuilding, rebuilt, supersededBy, touched } from "./handle.js";
export type { HandleIdentity, WarmFacts } from "./handle.js";
export { createGapModel, DEFAULT_GAP_PRIORS } from "./gap-model.js";
export type { GapKind, GapModel, GapModelOptions, GapModelState, GapPrior } from "./gap-model.js";
export { decideKeepWarm, fixedKeepWarm, oracleKeepWarm } from "./keep-warm.js";
export type { KeepWarmDecision, KeepWarmInput, WarmEconomics } from "./keep-warm.js";
export { ctxsyncPolicy, DEFAULT_MAX_IDLE_MS, fixedPolicy, nonePolicy, oraclePolicy } from "./policy.js";
export type { CtxsyncPolicyOptions, KeepWarmPolicy, KeepWarmQuestion } from "./policy.js";
export { extendEconomics, missPrice, pingEconomics, ttlOf } from "./economics.js";
export type { CacheRuleFacts, PriceFacts, ProviderFacts } from "./economics.js";
export { acquireLease, endLease, localLeaseService, memoryLeaseService, withinDeadline } from "./lease.js";
export type { AcquireOptions, AcquireResult, HeldLease, LeaseService } from "./lease.js";
export { isReplayError, replayError, toReplayError } from "./errors.js";
export type { ReplayError, ReplayErrorCode } from "./errors.js";
