import { applyKeepingHeld, isServerClientId, validateDocUpdate, validateLogUpdate, type DocKind, type ValidationCode, type ValidationResult } from "@ctxsync/core";
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
  /**
   * Star only: is replica `i` a server? A server judges a client's update as the sync server does: it
   * takes new structs only under client ids that client owns (or nobody does yet; otherwise the update
   * is held until they arrive from their owner, as a refused client retries on reconnect) and keeps
   * what it held (`applyKeepingHeld`; the correction goes back to the sender too).
   */
  readonly isServer?: (i: number) => boolean;
  /** Client-id ownership as the servers share it, per document kind: client id → the replica that first wrote with it. */
  readonly owners?: Map<DocKind, Map<number, number>>;
}

/** Client ids that add structs `doc` does not have. */
const newClients = (doc: Y.Doc, update: Uint8Array): number[] => {
  const out = new Set<number>();
  for (const st of Y.decodeUpdate(update).structs) if (st.id.clock + st.length > Y.getState(doc.store, st.id.client)) out.add(st.id.client);
  return [...out];
};

const validate = (ctx: IntegrateContext, r: Replica, kind: DocKind, update: Uint8Array): ValidationResult | { ok: true } =>
  !ctx.validate ? { ok: true } : kind === "log" ? validateLogUpdate(r.log, update) : validateDocUpdate(kind, { doc: r.docs.get(kind)! }, update);

/**
 * Validate an incoming update against the receiving replica's state, as the server does, and apply
 * it. "held": a dependency is missing (retry later); "refused": a violation, recorded.
 */
export const integrate = (ctx: IntegrateContext, r: Replica, m: Message): "applied" | "held" | "refused" => {
  const doc = r.docs.get(m.doc)!;
  const authority = ctx.isServer !== undefined && ctx.isServer(r.index) && !ctx.isServer(m.from);
  let byKind: Map<number, number> | undefined;
  let adds: number[] = [];
  if (authority && ctx.owners) {
    byKind = ctx.owners.get(m.doc) ?? new Map<number, number>();
    ctx.owners.set(m.doc, byKind);
    adds = newClients(doc, m.payload).filter((c) => !isServerClientId(c));
    if (adds.some((c) => byKind!.has(c) && byKind!.get(c) !== m.from)) return "held";
  }
  const res = validate(ctx, r, m.doc, m.payload);
  if (!res.ok) {
    if (NOT_YET.has(res.code)) return "held";
    ctx.violations.push({ replica: r.index, from: m.from, doc: m.doc, type: m.type, code: res.code, message: res.message });
    ctx.note(`REFUSED ${m.type}:${m.doc} r${m.from}->r${r.index}: ${res.code} ${res.message}`);
    return "refused";
  }
  if (byKind) for (const c of adds) if (!byKind.has(c)) byKind.set(c, m.from);
  const origin: RemoteOrigin = { remoteFrom: m.from };
  if (authority && m.doc === "log" && "net" in res) {
    const corrected = applyKeepingHeld(r.log, m.payload, res, origin, { onCorrections: () => (origin.relayToSender = true) });
    if (corrected.length > 0) {
      ctx.stats.keptHeld += corrected.length;
      ctx.note(`r${r.index} kept what it held: ${corrected.map((c) => `${c.root}.${c.key}`).join(",")} (update from r${m.from})`);
    }
  } else Y.applyUpdate(doc, m.payload, origin);
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
