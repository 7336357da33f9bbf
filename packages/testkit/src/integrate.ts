import { validateDocUpdate, validateLogUpdate, type DocKind, type ValidationCode, type ValidationResult } from "@ctxsync/core";
import * as Y from "yjs";
import type { Message, NetworkStats, RemoteOrigin, Replica, Violation } from "./network-types.js";

/** Codes that mean "not yet": something the update depends on has not arrived. The update is held and retried. */
const NOT_YET: ReadonlySet<ValidationCode> = new Set(["missing-dependency", "missing-parent", "unknown-head"]);

export interface IntegrateContext {
  /** Validate before applying (off only to show what the validator prevents). */
  readonly validate: boolean;
  readonly violations: Violation[];
  readonly stats: NetworkStats;
  readonly note: (line: string) => void;
}

const validate = (ctx: IntegrateContext, r: Replica, kind: DocKind, update: Uint8Array): ValidationResult | { ok: true } =>
  !ctx.validate ? { ok: true } : kind === "log" ? validateLogUpdate(r.log, update) : validateDocUpdate(kind, { doc: r.docs.get(kind)! }, update);

/**
 * Validate an incoming update against the receiving replica's state, as the server does, and apply
 * it. "held": a dependency is missing (retry later); "refused": a violation, recorded.
 */
export const integrate = (ctx: IntegrateContext, r: Replica, m: Message): "applied" | "held" | "refused" => {
  const doc = r.docs.get(m.doc)!;
  const res = validate(ctx, r, m.doc, m.payload);
  if (!res.ok) {
    if (NOT_YET.has(res.code)) return "held";
    ctx.violations.push({ replica: r.index, from: m.from, doc: m.doc, type: m.type, code: res.code, message: res.message });
    ctx.note(`REFUSED ${m.type}:${m.doc} r${m.from}->r${r.index}: ${res.code} ${res.message}`);
    return "refused";
  }
  Y.applyUpdate(doc, m.payload, { remoteFrom: m.from } satisfies RemoteOrigin);
  if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) {
    ctx.stats.yjsPending++;
    ctx.note(`yjs holds part of ${m.type}:${m.doc} r${m.from}->r${r.index} pending`);
  }
  return "applied";
};

/** Retry the updates `r` holds for `kind` until none of them applies any more. */
export const retryPending = (ctx: IntegrateContext, r: Replica, kind: DocKind): void => {
  const held = r.pending.get(kind)!;
  let progress = true;
  while (progress && held.length > 0) {
    progress = false;
    for (let k = 0; k < held.length; k++) {
      const outcome = integrate(ctx, r, held[k]!);
      if (outcome !== "held") {
        held.splice(k, 1);
        k--;
        if (outcome === "applied") progress = true;
      }
    }
  }
};
