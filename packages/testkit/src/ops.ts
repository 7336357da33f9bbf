import { checkpointKey, isCoreError, MAIN, type Entry, type EntryInput, type PrefixHash } from "@ctxsync/core";
import type { Network, Replica } from "./network.js";
import type { Rng } from "./rng.js";
import { randomTurn, sentence } from "./turns.js";

/**
 * What a device does to a conversation, through the typed API only. Every operation picks its
 * randomness from the driver's stream; entry ids come from the network's seeded stream.
 */

/** Append `inputs` to the replica's current branch: as one update (`together`) or one update per entry, as agent loops do. */
export const appendTurn = (net: Network, r: Replica, inputs: readonly EntryInput[], together = true): Entry[] => {
  const one = () => inputs.map((input) => r.log.append(r.branch, input, { id: net.nextEntryId() }));
  return together ? r.log.transact(one) : one();
};

const SHARED_BRANCH_NAMES = ["alt", "experiment", "retry"];
const INFO_KEYS = ["title", "owner", "project"];

/** Refusals of the typed API that a device meets in normal operation and simply retries later. */
const expected = (e: unknown, ...codes: string[]): boolean => isCoreError(e) && codes.includes(e.code);

/** One random operation on replica `r`; returns a short description for the event trace. */
export const randomOp = (net: Network, r: Replica, rng: Rng): string => {
  try {
    return op(net, r, rng);
  } catch (e) {
    // A branch or info key whose value is momentarily hidden (a concurrent change has not arrived yet).
    if (expected(e, "unknown-branch", "meta-immutable")) return `${r.name} refused: ${(e as Error).message}`;
    throw e;
  }
};

const op = (net: Network, r: Replica, rng: Rng): string => {
  const log = r.log;
  const entries = log.entries();
  const x = rng.next();
  const hasCache = r.cache !== undefined;
  const hasHidden = r.hidden !== undefined;
  if (entries.length === 0 || x < 0.55) {
    // Work on a branch that exists here; a device that knows nothing yet starts `main`.
    if (log.branch(r.branch) === undefined) r.branch = log.branches().size > 0 ? rng.pick([...log.branches().keys()]) : MAIN;
    const transcript = log.branch(r.branch) ? log.transcript(r.branch) : [];
    const made = appendTurn(net, r, randomTurn(rng, transcript), rng.chance(0.5));
    return `${r.name} turn on ${r.branch}: ${made.map((e) => e.kind).join("+")}`;
  }
  if (x < 0.67) {
    const at = rng.pick(entries).id;
    const r2 = rng.next();
    const name = r2 < 0.4 ? undefined : r2 < 0.7 ? rng.pick(SHARED_BRANCH_NAMES) : `${r.name}/b${rng.id(4)}`;
    try {
      const made = log.fork(at, name);
      if (rng.chance(0.7)) r.branch = made;
      return `${r.name} fork ${made} at ${at}`;
    } catch (e) {
      if (expected(e, "branch-exists")) {
        r.branch = name!;
        return `${r.name} fork ${name} exists: switch`;
      }
      throw e;
    }
  }
  if (x < 0.8) {
    const names = [...log.branches().keys()];
    if (names.length > 0) r.branch = rng.pick(names);
    return `${r.name} switch to ${r.branch}`;
  }
  if (x < 0.87) {
    const at = rng.pick(entries).id;
    log.addNote(at, sentence(rng, 1, 6), r.name);
    return `${r.name} note on ${at}`;
  }
  if (x < 0.89) {
    const key = rng.pick(INFO_KEYS);
    if (log.info(key) !== undefined) return `${r.name} info ${key} already set`;
    log.setInfo(key, sentence(rng, 1, 3));
    return `${r.name} info ${key}`;
  }
  if (hasCache && x < 0.95) return cacheOp(net, r, rng, entries);
  if (hasHidden) {
    const at = rng.pick(entries);
    r.hidden!.attach({ entry: at.id, provider: "openai", model: "gpt-x", kind: "openai.reasoning", data: { encrypted_content: rng.id(40) }, time: net.now() });
    return `${r.name} hidden blob on ${at.id}`;
  }
  return `${r.name} idle`;
};

const cacheOp = (net: Network, r: Replica, rng: Rng, entries: readonly Entry[]): string => {
  const cache = r.cache!;
  const at = rng.pick(entries);
  const base = {
    provider: rng.pick(["anthropic", "openai"]),
    model: "m1",
    rendererVersion: "1",
    renderContextHash: "ctx",
    prefixHash: r.log.prefixHash(at.id) as PrefixHash,
  };
  const key = checkpointKey(base);
  const y = rng.next();
  if (y < 0.4 || !cache.handle(key)) {
    const t = net.now();
    cache.putHandle({ ...base, entry: at.id, tokens: rng.int(10, 5000), createdAt: t, lastUsedAt: t, expiresAt: t + 300_000, status: rng.pick(["warm", "evicted"]), origin: "observed" });
    return `${r.name} cache handle ${key.slice(-8)}`;
  }
  if (y < 0.7) {
    const got = cache.tryLease(key, r.name, net.now(), 30_000);
    return `${r.name} lease ${key.slice(-8)}: ${got}`;
  }
  cache.recordUsage({
    id: `u${rng.id(12)}`,
    time: net.now(),
    device: r.device,
    provider: base.provider,
    model: base.model,
    entry: at.id,
    promptTokens: rng.int(100, 9000),
    cachedTokens: rng.int(0, 100),
    expectedCachedTokens: 100,
    cacheWriteTokens: 0,
    outputTokens: rng.int(1, 400),
    renderContextHash: "ctx",
  });
  return `${r.name} usage`;
};
