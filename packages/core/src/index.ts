export { createRng, replayingSeed, seedFromEnv, seedsToRun, testSeed } from "./rng.js";
export type { Rng } from "./rng.js";
export { asBranchName, asConversationId, asDeviceId, asEntryId, isBranchName, isConversationId, isEntryId, newDeviceId, newEntryId, randomId } from "./ids.js";
export type { Brand, BranchName, ConversationId, DeviceId, EntryId, NoteId } from "./ids.js";
export { coreError, isCoreError, toCoreError } from "./errors.js";
export { errorFamily } from "./error-family.js";
export type { ErrorFamily, FamilyError } from "./error-family.js";
export type { CoreError, CoreErrorCode } from "./errors.js";
export type { JsonObject, JsonPrimitive, JsonValue } from "./json.js";
export { isJsonObject } from "./json.js";
export { canonicalJson, isCanonicalJsonText, parseJson } from "./canonical.js";
export { chainHash, ROOT_HASH, sha256Hex, utf8 } from "./hash.js";
export type { PrefixHash } from "./hash.js";
export { assertEntry, canonicalEntry, contentProblem, ENTRY_KINDS, entryProblem, toolCallArguments, toolCallArgumentsText, toolCallFromText } from "./entry.js";
export type {
  AssistantContent,
  AssistantEntry,
  ConfigContent,
  ConfigEntry,
  ContentByKind,
  Entry,
  EntryInput,
  EntryKind,
  EntryMeta,
  SummaryContent,
  SummaryEntry,
  ToolCall,
  ToolResultContent,
  ToolResultEntry,
  UserContent,
  UserEntry,
} from "./entry.js";
export { branchProblem, forkBranchName, MAIN, RECONCILER } from "./branch.js";
export type { Branch } from "./branch.js";
export type { Note } from "./note.js";
export { CACHE_ROOTS, HIDDEN_ROOTS, LOG_ROOTS } from "./names.js";
export type { DocKind } from "./names.js";
export { createLogIndex } from "./log-index.js";
export type { LogIndex } from "./log-index.js";
export { appendTo, LOCAL_ORIGIN, openLog } from "./log.js";
export { insertedValues } from "./inserted.js";
export type { AppendOptions, ConversationLog, LogChange, OpenLogOptions } from "./log.js";
export { orphanedLeaves, reconcile } from "./reconcile.js";
export { checkpointKey, handleProblem, openCache, USAGE_PURPOSES, usagePurpose, usageProblem } from "./cache-doc.js";
export type { CacheState, CheckpointHandle, HandleCause, HandleOrigin, HandleStatus, UsagePurpose, UsageRecord } from "./cache-doc.js";
export { decideLease, LEASE_TTL_MAX_MS, LEASE_TTL_MIN_MS, leaseProblem, parseLeaseRequest } from "./rebuild-lease.js";
export type { LeaseAnswer, LeaseRefusal, LeaseRequest, RebuildLease } from "./rebuild-lease.js";
export { blobProblem, describeBlob, openHidden } from "./hidden-doc.js";
export type { BlobDescriptor, HiddenBlob, HiddenState } from "./hidden-doc.js";
export { decodeUpdate, validateUpdate } from "./validate-update.js";
export type { DecodedUpdate, MapSet, NetValue, RootRule, UpdateRules, ValidationCode, ValidationResult } from "./validate-update.js";
export { cacheRules, hiddenRules, logRules, validateDocUpdate, validateLogUpdate } from "./validate.js";
export { isServerClientId, newServerClientId, SERVER_CLIENT_ID_BASE } from "./server-client.js";
export { applyKeepingHeld } from "./keep-held.js";
export type { Correction } from "./keep-held.js";
export {
  entryToMessage,
  exportJsonl,
  exportMessages,
  importJsonl,
  importMessages,
  messageToEntry,
  parseJsonl,
  SYSTEM_PROMPT_INFO,
} from "./transcript-jsonl.js";
export type { ImportOptions, TranscriptMessage, TranscriptToolCall } from "./transcript-jsonl.js";
