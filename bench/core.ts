/**
 * `pnpm bench core`: the cost of the canonical log.
 * - append + hash: append one entry to a log of N entries and compute the new head's prefix hash,
 *   averaged over 1,000 appends, at N ≈ 1k and N ≈ 100k. The ratio must stay near 1 (no work in
 *   proportion to the history per append). Measured on a conversation made of the 90 traces' messages
 *   (cycled up to 100k entries) and on a generated agent-loop conversation.
 * - encoded size of `C` ÷ raw content size, for the 90 traces (one update per message, as an agent
 *   loop appends them) and for the generated 100k conversation. Raw content = UTF-8 bytes of the
 *   canonical JSON of each entry's content (no ids, no metadata).
 * - load: decode a 10,000-entry `C` into a new Y.Doc, open the log, build the transcript of `main`.
 * Prints JSON lines; the last line is the summary.
 */
import { readFileSync, statSync } from "node:fs";
import * as core from "@ctxsync/core";
import {
  asDeviceId,
  canonicalJson,
  decodeUpdate,
  importMessages,
  messageToEntry,
  openLog,
  parseJsonl,
  validateLogUpdate,
  type ConversationLog,
  type EntryInput,
} from "@ctxsync/core";
import { agentStep, createRng, traceFiles, userTurn } from "@ctxsync/testkit";
import * as Y from "yjs";
import { median } from "./lib/stats.js";

const print = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: "core", ...o }));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");
const contentBytes = (input: EntryInput) => utf8Bytes(canonicalJson(input.content));

const files = traceFiles(import.meta.dirname);
if (files.length === 0) {
  console.error("bench core: the shared traces (../shared/traces from the repository root) were not found");
  process.exit(1);
}
const traces = files.map((f) => ({ file: f, bytes: statSync(f).size, messages: parseJsonl(readFileSync(f, "utf8")) }));
const traceInputs: EntryInput[] = traces.flatMap((t) => (t.messages[0]?.role === "system" ? t.messages.slice(1) : t.messages).map(messageToEntry));

/** An endless stream of entries: the traces' messages in order, over and over. */
const cycledTraces = (): (() => EntryInput) => {
  let i = 0;
  return () => traceInputs[i++ % traceInputs.length]!;
};
/** An endless stream of generated agent-loop entries (user turns, assistant steps with tool calls and results). */
const generated = (seed: number): (() => EntryInput) => {
  const rng = createRng(seed);
  let buffer: EntryInput[] = [];
  return () => {
    if (buffer.length === 0) buffer = rng.chance(0.25) ? [userTurn(rng)] : agentStep(rng);
    return buffer.shift()!;
  };
};

const newLog = () => openLog(new Y.Doc(), { device: asDeviceId("bench"), now: () => 1_700_000_000_000 });

/**
 * Grow `log` to `n` entries on main one append at a time, as an agent loop does (not measured).
 * Batched set-up would hide per-item costs: a Y.Array built in 100 big pushes has 100 items, one
 * built by 100k appends has 100k.
 */
const grow = (log: ConversationLog, n: number, next: () => EntryInput) => {
  while (log.size() < n) log.append("main", next());
};

const APPENDS = 1000;
const CHUNK = 50;

/** µs of (append one entry, then hash the new head) for each input. */
const timeAppendHash = (log: ConversationLog, inputs: readonly EntryInput[]): number[] => {
  const times: number[] = [];
  let sink = 0;
  for (const input of inputs) {
    const a = performance.now();
    log.append("main", input);
    sink += log.branchHash("main").length;
    times.push((performance.now() - a) * 1000);
  }
  if (sink === 0) throw new Error("unreachable");
  return times;
};

const appendCase = (name: string, stream: () => () => EntryInput) => {
  const measured: EntryInput[] = [];
  const s = stream();
  for (let i = 0; i < APPENDS; i++) measured.push(s());
  // Warm up the JIT on a throwaway log.
  const warm = newLog();
  grow(warm, 2000, stream());
  timeAppendHash(warm, measured);
  warm.doc.destroy();

  const sizes = [1_000, 100_000] as const;
  const logs = sizes.map((n) => {
    const log = newLog();
    grow(log, n, stream());
    log.branchHash("main"); // a running replica has its history's hashes already
    return log;
  });
  // The same 1,000 entries appended to both logs, alternating in chunks so that machine noise hits both
  // alike. The mean is CPU time (process.cpuUsage), not wall time: on a shared machine a descheduled
  // process would otherwise count other processes' time slices as ours.
  const times: number[][] = sizes.map(() => []);
  const cpuUs = sizes.map(() => 0);
  for (let c = 0; c < APPENDS; c += CHUNK) {
    for (let k = 0; k < sizes.length; k++) {
      const cpu = process.cpuUsage();
      times[k]!.push(...timeAppendHash(logs[k]!, measured.slice(c, c + CHUNK)));
      const d = process.cpuUsage(cpu);
      cpuUs[k]! += d.user + d.system;
    }
  }
  const stats = times.map((t, k) => ({
    meanUs: cpuUs[k]! / t.length,
    wallMeanUs: t.reduce((a, b) => a + b, 0) / t.length,
    medianUs: median(t),
    p99Us: [...t].sort((a, b) => a - b)[Math.floor(t.length * 0.99)]!,
  }));
  sizes.forEach((n, k) =>
    print({
      case: "appendHash",
      conversation: name,
      entries: n,
      appends: APPENDS,
      cpuMeanUs: round(stats[k]!.meanUs),
      wallMeanUs: round(stats[k]!.wallMeanUs),
      wallMedianUs: round(stats[k]!.medianUs),
      wallP99Us: round(stats[k]!.p99Us),
    }),
  );
  logs.forEach((l) => l.doc.destroy());
  const [small, big] = stats as [(typeof stats)[0], (typeof stats)[0]];
  const ratio = big.meanUs / small.meanUs;
  print({ case: "appendRatio", conversation: name, ratio: round(ratio), wallMedianRatio: round(big.medianUs / small.medianUs) });
  return { us1k: small.meanUs, us100k: big.meanUs, ratio, wallMedianRatio: big.medianUs / small.medianUs };
};

// ---- validating an incoming update ----
/**
 * What the server pays to judge one incoming update to `C` (decode + validate, not apply), against a
 * server log (gc off, as the server keeps it) of N entries, at N = 1k and N = 100k, for:
 * - append: a synced device appends one entry to main (the common case);
 * - concurrent: a device that missed the previous append continues main from the head before it
 *   (a concurrent continuation: its write did not see the current value of main);
 * - neverSynced: a document that never synced creates a root and points `main` at it.
 * Each update is made on a replica, validated against the server log (timed), then applied to it
 * (timed apart: `applyUs`, Yjs's own cost for the same update, the peer to compare with).
 * Plain Yjs apply here, so the figures compare with the validator before issue 9.
 * `keepHeld`: the server as it runs now (server client id, `applyKeepingHeld`), never-synced writes
 * to a `main` the server keeps: the validator walks main's history back to the root, as Yjs's
 * integration of that write does (both grow with main's history, not with the update).
 * Mean CPU µs and median wall µs per update.
 */
const VALIDATIONS = 400;
type Case = "append" | "concurrent" | "neverSynced" | "keepHeld";
const validateCase = () => {
  const sizes = [1_000, 100_000] as const;
  const next = cycledTraces();
  const keepHeldAvailable = typeof (core as { applyKeepingHeld?: unknown }).applyKeepingHeld === "function";
  const rows = sizes.map((n) => {
    const server = openLog(new Y.Doc({ gc: false }), { device: asDeviceId("server"), now: () => 1_700_000_000_000 });
    grow(server, n, next);
    const device = openLog(new Y.Doc(), { device: asDeviceId("device"), now: () => 1_700_000_000_000 });
    Y.applyUpdate(device.doc, Y.encodeStateAsUpdate(server.doc));
    const capture = (doc: Y.Doc, fn: () => void): Uint8Array => {
      const got: Uint8Array[] = [];
      const h = (u: Uint8Array) => got.push(u);
      doc.on("update", h);
      fn();
      doc.off("update", h);
      return Y.mergeUpdates(got);
    };
    const sync = () => Y.applyUpdate(device.doc, Y.encodeStateAsUpdate(server.doc, Y.encodeStateVector(device.doc)));
    const cpu: Record<Case, number> = { append: 0, concurrent: 0, neverSynced: 0, keepHeld: 0 };
    const wall: Record<Case, number[]> = { append: [], concurrent: [], neverSynced: [], keepHeld: [] };
    const apply: Record<Case, number[]> = { append: [], concurrent: [], neverSynced: [], keepHeld: [] };
    const refused: string[] = [];
    let timed = false;
    const judge = (name: Case, update: Uint8Array, on: ConversationLog = server) => {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const v = validateLogUpdate(on, decodeUpdate(update));
      const w = (performance.now() - w0) * 1000;
      const d = process.cpuUsage(c0);
      if (!v.ok) {
        refused.push(`${name}: ${v.code}`);
        return;
      }
      const a0 = performance.now();
      if (name === "keepHeld") (core as unknown as { applyKeepingHeld: (...a: unknown[]) => unknown }).applyKeepingHeld(on, update, v, null);
      else Y.applyUpdate(on.doc, update);
      const a = (performance.now() - a0) * 1000;
      if (timed) {
        cpu[name] += d.user + d.system;
        wall[name].push(w);
        apply[name].push(a);
      }
    };
    // The server as it runs now: a copy of the log that writes with a server client id and keeps what it held.
    const held = keepHeldAvailable ? openLog(new Y.Doc({ gc: false }), { device: asDeviceId("server") }) : undefined;
    if (held) {
      Y.applyUpdate(held.doc, Y.encodeStateAsUpdate(server.doc));
      held.doc.clientID = (core as unknown as { newServerClientId: () => number }).newServerClientId();
    }
    // The first rounds are not timed: a running server has validated updates against this log before
    // (the first one after loading memoizes the head's depth, once per load).
    for (let i = -20; i < VALIDATIONS; i++) {
      timed = i >= 0;
      judge("append", capture(device.doc, () => device.append("main", next())));
      // Another device moves main first; this device continues from the head it last saw.
      server.append("main", next());
      judge("concurrent", capture(device.doc, () => device.append("main", next())));
      const fresh = openLog(new Y.Doc(), { device: asDeviceId(`fresh${i}`), now: () => 1_700_000_000_000 });
      const u = capture(fresh.doc, () => fresh.append("main", next()));
      judge("neverSynced", u);
      if (held) judge("keepHeld", u, held);
      fresh.doc.destroy();
      sync();
    }
    const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
    const cases = (Object.keys(cpu) as Case[]).filter((k) => wall[k].length > 0);
    const perUpdate = Object.fromEntries(cases.map((k) => [k, round(cpu[k] / VALIDATIONS)]));
    const wallMedian = Object.fromEntries(cases.map((k) => [k, round(median(wall[k]))]));
    const applyMedian = Object.fromEntries(cases.map((k) => [k, round(median(apply[k]))]));
    const applyMean = Object.fromEntries(cases.map((k) => [k, round(mean(apply[k]))]));
    print({ case: "validate", entries: n, updates: VALIDATIONS, cpuMeanUs: perUpdate, wallMedianUs: wallMedian, applyWallMedianUs: applyMedian, applyWallMeanUs: applyMean, refused: refused.length, refusedExamples: refused.slice(0, 3) });
    server.doc.destroy();
    held?.doc.destroy();
    device.doc.destroy();
    return { cpu: perUpdate, wall: wallMedian, apply: applyMedian };
  });
  const [small, big] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const ratio = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(a).map((k) => [k, round(b[k]! / a[k]!)]));
  const ratios = ratio(small.cpu, big.cpu);
  const wallRatios = ratio(small.wall, big.wall);
  print({ case: "validateRatio", ratio100kOver1k: ratios, wallMedianRatio100kOver1k: wallRatios, applyWallMedianRatio100kOver1k: ratio(small.apply, big.apply) });
  return { small: small.cpu, big: big.cpu, ratios, wallRatios, wallSmall: small.wall, wallBig: big.wall, applySmall: small.apply, applyBig: big.apply };
};

// ---- encoded size over content ----
const tracesSize = () => {
  let encodedPerMessage = 0;
  let encodedImported = 0;
  let content = 0;
  let jsonl = 0;
  for (const t of traces) {
    const inputs = (t.messages[0]?.role === "system" ? t.messages.slice(1) : t.messages).map(messageToEntry);
    // As an agent loop writes it: one append (one update) per message.
    const log = newLog();
    for (const input of inputs) log.append("main", input);
    encodedPerMessage += Y.encodeStateAsUpdate(log.doc).byteLength;
    // As an import writes it: one transaction (system prompt kept as conversation info).
    const imported = newLog();
    importMessages(imported, t.messages);
    encodedImported += Y.encodeStateAsUpdate(imported.doc).byteLength;
    for (const input of inputs) content += contentBytes(input);
    jsonl += t.bytes;
    log.doc.destroy();
    imported.doc.destroy();
  }
  const ratio = encodedPerMessage / content;
  print({
    case: "encodedOverContent",
    conversation: "traces",
    traces: traces.length,
    entries: traceInputs.length,
    encodedBytes: encodedPerMessage,
    contentBytes: content,
    ratio: round(ratio, 3),
    importedInOneTransaction: { encodedBytes: encodedImported, ratio: round(encodedImported / content, 3) },
    jsonlBytes: jsonl,
    encodedOverJsonl: round(encodedPerMessage / jsonl, 3),
  });
  return ratio;
};

const syntheticSize = (n: number) => {
  const log = newLog();
  const next = generated(7);
  let content = 0;
  // One update per entry, as an agent loop appends them.
  for (let i = 0; i < n; i++) {
    const input = next();
    content += contentBytes(input);
    log.append("main", input);
  }
  const encoded = Y.encodeStateAsUpdate(log.doc);
  const ratio = encoded.byteLength / content;
  print({ case: "encodedOverContent", conversation: "generated", entries: log.size(), encodedBytes: encoded.byteLength, contentBytes: content, ratio: round(ratio, 3) });
  log.doc.destroy();
  return ratio;
};

// ---- load ----
const load = (n: number) => {
  const log = newLog();
  const next = cycledTraces();
  for (let i = 0; i < n; i++) log.append("main", next());
  const state = Y.encodeStateAsUpdate(log.doc);
  log.doc.destroy();
  const runs: number[] = [];
  const withHash: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    const doc = new Y.Doc();
    Y.applyUpdate(doc, state);
    const loaded = openLog(doc);
    const transcript = loaded.transcript("main");
    const t1 = performance.now();
    loaded.branchHash("main"); // first hash of the whole history (later appends reuse it)
    const t2 = performance.now();
    if (transcript.length !== n) throw new Error(`loaded ${transcript.length} entries, expected ${n}`);
    runs.push(t1 - t0);
    withHash.push(t2 - t0);
    doc.destroy();
  }
  const ms = median(runs.slice(2)); // the first runs warm up the JIT
  print({ case: "load", conversation: "traces-cycled", entries: n, encodedBytes: state.byteLength, ms: round(ms), withFirstHashMs: round(median(withHash.slice(2))) });
  return ms;
};

const traceAppend = appendCase("traces-cycled", cycledTraces);
const genAppend = appendCase("generated", () => generated(3));
const encodedTraces = tracesSize();
const encodedGenerated = syntheticSize(100_000);
const load10k = load(10_000);
const validation = validateCase();

console.log(
  JSON.stringify({
    bench: "core",
    appendHashUs1k: round(traceAppend.us1k),
    appendHashUs100k: round(traceAppend.us100k),
    appendRatio: round(traceAppend.ratio),
    appendRatioWallMedian: round(traceAppend.wallMedianRatio),
    appendOf: "90 traces' messages cycled to N entries (built one append at a time); mean CPU µs over the same 1,000 appends at N=1k and N=100k",
    generatedAppendHashUs1k: round(genAppend.us1k),
    generatedAppendHashUs100k: round(genAppend.us100k),
    generatedAppendRatio: round(genAppend.ratio),
    encodedOverContent: round(encodedTraces, 3),
    encodedOverContentOf: "90 traces, one update per message; content = UTF-8 canonical JSON of entry content",
    encodedOverContentGenerated100k: round(encodedGenerated, 3),
    load10kMs: round(load10k),
    validateUs1k: validation.small,
    validateUs100k: validation.big,
    validateRatio: validation.ratios,
    validateWallMedianUs1k: validation.wallSmall,
    validateWallMedianUs100k: validation.wallBig,
    validateWallMedianRatio: validation.wallRatios,
    yjsApplyWallMedianUs1k: validation.applySmall,
    yjsApplyWallMedianUs100k: validation.applyBig,
    validateOf: "decode + validate one incoming update to C (server log, gc off) at N=1k and N=100k entries; mean CPU µs",
    node: process.version,
  }),
);
