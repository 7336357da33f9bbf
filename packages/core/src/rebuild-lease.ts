import { isJsonObject } from "./json.js";

/**
 * The rebuild lease of one checkpoint key, as the sync server keeps it in `C/cache` (root `leases`).
 *
 * Devices that see the same eviction must pay for one rebuild. A lease written last-writer-wins into a
 * CRDT can be lost to a concurrent write, so the lease is decided in one place: the server applies
 * `decideLease` in the document's write queue (a compare-and-set on `version`), stores the result and
 * relays it. Clients never write this root; they read it (it syncs like the rest of `C/cache`) to
 * learn the version they ask against. docs/replay.md explains why a pause or a partition cannot
 * produce two rebuilds.
 */
export interface RebuildLease {
  /** Bumped by every change (grant, completion, release): the compare-and-set version. */
  readonly version: number;
  /** `held`: `holder` may rebuild until `until`; `done`: rebuilt; `released`: given up without rebuilding. */
  readonly state: "held" | "done" | "released";
  readonly holder: string;
  /** Server clock (ms) of the grant, and the end of the hold. */
  readonly grantedAt: number;
  readonly until: number;
  /** Server clock of the completion or release. */
  readonly endedAt?: number;
}

export type LeaseRequest =
  | {
      readonly op: "acquire";
      readonly key: string;
      readonly holder: string;
      /** The version of the lease record the device saw when it observed the eviction (0: no record). */
      readonly seenVersion: number;
      readonly ttlMs: number;
    }
  | {
      /** `complete`: the rebuild was sent and answered; `release`: the holder gives up without rebuilding. */
      readonly op: "complete" | "release";
      readonly key: string;
      readonly holder: string;
      /** The version the grant created (the holder's fencing token). */
      readonly version: number;
    };

export type LeaseRefusal =
  /** Someone holds a live lease (or held it less than `graceMs` ago). */
  | "held"
  /** The record changed since the device looked: someone rebuilt (or is rebuilding) since this eviction was seen. */
  | "stale-version"
  /** complete/release by a device that does not hold this version (its lease expired and was taken over). */
  | "fenced";

export interface LeaseAnswer {
  readonly granted: boolean;
  readonly reason?: LeaseRefusal;
  /** The record after the decision (null: none). */
  readonly lease: RebuildLease | null;
  /** For a grant: how long the hold lasts from the server's decision (the holder's deadline is measured from before it asked). */
  readonly remainingMs?: number;
}

/** Limits of the lease: a hold is at least 1 s and at most 1 h. */
export const LEASE_TTL_MIN_MS = 1_000;
export const LEASE_TTL_MAX_MS = 3_600_000;

/**
 * The compare-and-set. `graceMs`: an expired hold is taken over only this long after `until`, so a
 * holder whose own (conservative) deadline check passed just before `until` has sent its request
 * long before anyone else may start.
 */
export const decideLease = (
  current: RebuildLease | undefined,
  req: LeaseRequest,
  now: number,
  graceMs: number,
): { answer: LeaseAnswer; next?: RebuildLease } => {
  const version = current?.version ?? 0;
  if (req.op === "acquire") {
    const ttl = Math.min(LEASE_TTL_MAX_MS, Math.max(LEASE_TTL_MIN_MS, Math.round(req.ttlMs)));
    if (current?.state === "held" && current.holder === req.holder && req.seenVersion === version) {
      // A retry of the holder's own acquire (its answer was lost): the same hold, not a new one.
      return { answer: { granted: true, lease: current, remainingMs: Math.max(0, current.until - now) } };
    }
    if (req.seenVersion !== version) return { answer: { granted: false, reason: "stale-version", lease: current ?? null } };
    if (current?.state === "held" && now <= current.until + graceMs) return { answer: { granted: false, reason: "held", lease: current } };
    const next: RebuildLease = { version: version + 1, state: "held", holder: req.holder, grantedAt: now, until: now + ttl };
    return { answer: { granted: true, lease: next, remainingMs: ttl }, next };
  }
  if (!current || current.state !== "held" || current.holder !== req.holder || current.version !== req.version)
    return { answer: { granted: false, reason: "fenced", lease: current ?? null } };
  const next: RebuildLease = { ...current, version: version + 1, state: req.op === "complete" ? "done" : "released", endedAt: now };
  return { answer: { granted: true, lease: next }, next };
};

const LEASE_STATES: readonly string[] = ["held", "done", "released"];
const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);

export const leaseProblem = (_key: string, v: unknown): string | undefined => {
  if (!isJsonObject(v)) return "lease must be an object";
  if (!num(v.version) || (v.version as number) < 1) return "lease version must be a positive number";
  if (!LEASE_STATES.includes(v.state as string)) return "lease state is invalid";
  if (typeof v.holder !== "string") return "lease holder must be a string";
  if (!num(v.grantedAt) || !num(v.until)) return "lease grantedAt and until must be numbers";
  if (v.endedAt !== undefined && !num(v.endedAt)) return "lease endedAt must be a number";
  return undefined;
};

/** Parse a lease request from untrusted JSON (the server's REST body); a message on failure. */
export const parseLeaseRequest = (v: unknown): LeaseRequest | string => {
  if (!isJsonObject(v)) return "lease request must be an object";
  const { op, key, holder } = v;
  if (typeof key !== "string" || key === "" || key.length > 4096) return "key must be a non-empty string (a checkpoint key)";
  if (typeof holder !== "string" || holder === "" || holder.length > 256) return "holder must be a non-empty string (a device id)";
  if (op === "acquire") {
    if (!Number.isInteger(v.seenVersion) || (v.seenVersion as number) < 0) return "seenVersion must be an integer ≥ 0";
    if (!num(v.ttlMs) || (v.ttlMs as number) <= 0) return "ttlMs must be a positive number";
    return { op, key, holder, seenVersion: v.seenVersion as number, ttlMs: v.ttlMs as number };
  }
  if (op === "complete" || op === "release") {
    if (!Number.isInteger(v.version) || (v.version as number) < 1) return "version must be an integer ≥ 1";
    return { op, key, holder, version: v.version as number };
  }
  return 'op must be "acquire", "complete" or "release"';
};
