// The replay benchmark's workload: the 90 traces, each turned into a timed session.
//
// A request is made at every assistant message of a trace (its prompt: everything before it; its
// answer: that message). Between two requests lies a gap whose kind depends on what came in between,
// and whose length is drawn from a seeded generator (documented in docs/replay.md, "Benchmark"):
//
// - tool:        the previous answer asked for tools (or, for text-based agents, issued a command in a
//                code block and got its observation back as a user message): the agent's own speed.
//                90 %: log-normal, median 3 s, σ 0.9 (a command, a file read);
//                10 %: a long run (tests, a build), log-normal, median 4 min, σ 1.0 — a third past 5 min.
// - user:        the previous answer went back to a person (tau-bench's simulated user, a final answer):
//                40 %: a quick reply, log-normal, median 20 s, σ 0.7;
//                35 %: a considered one, log-normal, median 3 min, σ 0.9;
//                25 %: a long pause, Pareto with scale 15 min and shape 1.1 (heavy-tailed: hours, days).
// - the session ends after its last request. If that answer asked for a tool (the trace stops mid-run:
//   a step limit, a crash, the recording ended), the agent was stopped there: its process, and with it
//   its session and keep-warm timer, ends at once. If the answer went to a person, the session stays
//   open — the person may come back, and every policy may keep warming — but nobody does.
//
// Nothing here is known to ctxsync's policy: it sees only the gaps of the session it is in.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as Y from "yjs";
import { asDeviceId, importMessages, openLog, parseJsonl, SYSTEM_PROMPT_INFO, type ConversationLog, type Entry, type TranscriptMessage } from "@ctxsync/core";
import type { ToolSpec } from "@ctxsync/compile";
import { createRng, type Rng } from "@ctxsync/testkit";

export const TRACES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/traces");

export type GapKind = "tool" | "user";

export interface Trace {
  readonly name: string;
  readonly framework: string;
  readonly messages: readonly TranscriptMessage[];
}

export interface Session {
  readonly trace: Trace;
  readonly log: ConversationLog;
  readonly entries: readonly Entry[];
  readonly system?: string;
  readonly tools: readonly ToolSpec[];
  /** Index (into entries) of each assistant entry: request k's prompt is entries[0, at[k]), its answer entries[at[k]]. */
  readonly at: readonly number[];
  /** The trace message of each assistant entry (the simulator's scripted answer). */
  readonly answers: readonly TranscriptMessage[];
  /** Absolute time (ms) of each request. */
  readonly times: readonly number[];
  /** Kind of the gap before request k (k ≥ 1). */
  readonly kinds: readonly GapKind[];
  /** The last answer went to a person (the session stays open after it); false: the agent was stopped mid-run. */
  readonly endsOpen: boolean;
}

export const loadTraces = (limit?: number): Trace[] => {
  const files = readdirSync(TRACES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(TRACES, d.name)).filter((f) => f.endsWith(".jsonl")).map((f) => join(d.name, f)))
    .sort();
  return files.slice(0, limit ?? files.length).map((f) => ({
    name: f.replace(/\.jsonl$/, ""),
    framework: f.split("/")[0]!,
    messages: parseJsonl(readFileSync(join(TRACES, f), "utf8")),
  }));
};

const logNormal = (rng: Rng, median: number, sigma: number) => {
  const u1 = rng.next() || Number.MIN_VALUE;
  const u2 = rng.next();
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
};
const pareto = (rng: Rng, scale: number, shape: number) => scale / Math.pow(1 - rng.next(), 1 / shape);

const SEC = 1000;
const MIN = 60 * SEC;

export const drawGap = (rng: Rng, kind: GapKind): number => {
  if (kind === "tool") return rng.chance(0.9) ? logNormal(rng, 3 * SEC, 0.9) : logNormal(rng, 4 * MIN, 1.0);
  const u = rng.next();
  if (u < 0.4) return logNormal(rng, 20 * SEC, 0.7);
  if (u < 0.75) return logNormal(rng, 3 * MIN, 0.9);
  return pareto(rng, 15 * MIN, 1.1);
};

/** Text-based agents issue commands in a fenced code block; the observation comes back as a user message. */
const issuedCommand = (m: TranscriptMessage | undefined) => m?.role === "assistant" && (m.tool_calls?.length ? true : /```/.test(m.content ?? ""));

export const buildSession = (trace: Trace, seed: number, start: number): Session => {
  const rng = createRng(seed);
  const log = openLog(new Y.Doc(), { device: asDeviceId("bench") });
  importMessages(log, trace.messages);
  const entries = log.transcript("main");
  const system = log.info(SYSTEM_PROMPT_INFO);
  const names = new Set(entries.flatMap((e) => (e.kind === "assistant" ? (e.content.toolCalls ?? []).map((t) => t.name) : [])));
  const at = entries.flatMap((e, i) => (e.kind === "assistant" ? [i] : []));
  const assistantMsgs = trace.messages.filter((m) => m.role === "assistant");
  const times: number[] = [];
  const kinds: GapKind[] = [];
  let t = start;
  let prev: TranscriptMessage | undefined;
  for (let k = 0; k < at.length; k++) {
    if (k > 0) {
      const kind: GapKind = issuedCommand(prev) ? "tool" : "user";
      kinds.push(kind);
      t += Math.round(drawGap(rng, kind));
    }
    times.push(t);
    prev = assistantMsgs[k];
  }
  return {
    trace,
    log,
    entries,
    ...(typeof system === "string" ? { system } : {}),
    tools: [...names].sort().map((name) => ({ name, parameters: { type: "object" } })),
    at,
    answers: assistantMsgs,
    times,
    kinds,
    endsOpen: !issuedCommand(assistantMsgs[at.length - 1]),
  };
};
