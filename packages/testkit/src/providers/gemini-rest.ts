// Test and benchmark helper, a stopgap until compile's Gemini renderer emits the REST
// GenerateContentRequest (issue 11): the providers' Gemini transport sends REST bodies only. This wraps
// a transport so that every compiled request (turns, and replay's own pings and rebuilds) goes out as
// providers' `geminiRestBody(request)`; everything else on the transport (its `caches`) is kept.
import { geminiRestBody, type Transport } from "@ctxsync/providers";

export const geminiRestBridge = <T extends Transport>(t: T): T => ({
  ...t,
  send: (input) => t.send({ ...input, compiled: { ...input.compiled, body: geminiRestBody(input.compiled.request) } }),
});
