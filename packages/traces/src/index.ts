export { generateConversation, generateCorpus, generateTrace, importConversation, toJsonl, TRACE_STYLES } from "./generator.js";
export type { GeneratedConversation, TraceOptions, TraceStyle } from "./generator.js";
export { REQUIRE_TRACES, sharedTracesMissing, traceCorpus, traceFiles, tracesDir } from "./corpus.js";
export type { TraceCorpus } from "./corpus.js";
