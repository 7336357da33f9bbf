import { canonicalJson, LOG_ROOTS, type Entry, type EntryId } from "@ctxsync/core";
import * as Y from "yjs";
import { bytesEqual, type Network, type Replica } from "./network.js";

/**
 * The convergence checker. After `settle()`, every replica must hold the same documents, no entry
 * any replica ever wrote may be missing, every leaf must be the head of a branch, and no entry may
 * sit on a transcript after an entry its author had not seen (that would interleave concurrent turns).
 * The causal check uses the network's own record of what each replica had learned, not the log's parent links alone.
 */
export interface ConvergenceReport {
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** Figures about the run, for logs and for tests that want to see that something happened. */
  readonly summary: {
    readonly entries: number;
    readonly branches: number;
    readonly leaves: number;
    readonly forksByReconciler: number;
    readonly authors: number;
  };
}

const MAX_PROBLEMS = 20;

export const checkConvergence = (net: Network): ConvergenceReport => {
  const problems: string[] = [];
  const problem = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const [first, ...rest] = net.replicas;
  if (!first) return { ok: false, problems: ["no replicas"], summary: { entries: 0, branches: 0, leaves: 0, forksByReconciler: 0, authors: 0 } };

  // 1. Every update a replica produced was accepted by every replica that received it.
  for (const v of net.violations.slice(0, 5))
    problem(`r${v.replica} refused a ${v.type} of ${v.doc} from r${v.from}: ${v.code}: ${v.message}`);
  if (net.violations.length > 5) problem(`... and ${net.violations.length - 5} more refused updates`);

  // 2. Nothing left over: no held updates, nothing Yjs could not integrate.
  for (const r of net.replicas) {
    for (const [kind, held] of r.pending) if (held.length > 0) problem(`${r.name} still holds ${held.length} ${kind} update(s) it could not integrate`);
    for (const [kind, doc] of r.docs)
      if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) problem(`${r.name}: Yjs has pending structs in ${kind}`);
  }

  // 3. Identical documents: state vectors, encoded state, and the values of every root type.
  let identical = true;
  for (const kind of net.docKinds) {
    const doc0 = first.docs.get(kind)!;
    const sv0 = Y.encodeStateVector(doc0);
    const state0 = Y.encodeStateAsUpdate(doc0);
    const json0 = canonicalJson(doc0.toJSON()); // compared only when the bytes differ, to say how
    const mixedGc = net.replicas.some((r) => r.docs.get(kind)!.gc !== doc0.gc);
    for (const r of rest) {
      const doc = r.docs.get(kind)!;
      if (!bytesEqual(Y.encodeStateVector(doc), sv0)) {
        problem(`${kind}: ${r.name} has a different state vector than ${first.name}`);
      } else if (bytesEqual(Y.encodeStateAsUpdate(doc), state0)) continue; // identical bytes: identical values
      // A replica without garbage collection keeps deleted content, unless it got the item from one that
      // had dropped it: same document, other bytes. Then the values and the deleted ranges must agree.
      else if (mixedGc) {
        if (!Y.equalDeleteSets(Y.createDeleteSetFromStructStore(doc.store), Y.createDeleteSetFromStructStore(doc0.store))) problem(`${kind}: ${r.name} has deleted other items than ${first.name}`);
      } else problem(`${kind}: ${r.name} encodes a different state than ${first.name}`);
      identical = false;
      if (canonicalJson(doc.toJSON()) !== json0) problem(`${kind}: ${r.name} holds different values than ${first.name}`);
    }
  }

  // 4. The typed view agrees too (indexes are built incrementally, in a different order on each replica).
  const branches0 = first.log.branches();
  for (const r of rest) {
    const b = r.log.branches();
    if (canonicalJson(Object.fromEntries(b)) !== canonicalJson(Object.fromEntries(branches0))) problem(`${r.name}: branch map differs from ${first.name}`);
    if (r.log.size() !== first.log.size()) problem(`${r.name}: ${r.log.size()} entries, ${first.name} has ${first.log.size()}`);
    for (const name of b.keys())
      if (branches0.has(name) && r.log.branchHash(name) !== first.log.branchHash(name)) problem(`${r.name}: transcript hash of ${name} differs`);
  }

  // 5. No entry lost: every entry any replica wrote is present, unchanged, everywhere.
  for (const [id, a] of net.authored) {
    const want = JSON.stringify(a.entry);
    for (const r of net.replicas) {
      const got = r.log.get(id);
      if (!got) problem(`entry ${id} written by r${a.replica} is missing on ${r.name}`);
      // Same key order on both sides (Yjs stores the value as written); canonical form only to confirm a difference.
      else if (JSON.stringify(got) !== want && canonicalJson(got) !== canonicalJson(a.entry))
        problem(`entry ${id} written by r${a.replica} differs on ${r.name}`);
    }
  }

  // 6. Every leaf is the head of some branch, every head exists (leaves computed here, from the entries).
  // When all documents are byte-identical, checking one replica checks them all.
  const distinct = identical ? [first] : net.replicas;
  for (const r of distinct) problems.push(...leafProblems(r).slice(0, Math.max(0, MAX_PROBLEMS - problems.length)));

  // 7. No interleaving: along every transcript, each entry's author had seen every entry before it.
  for (const r of distinct) {
    problems.push(...causalProblems(net, r).slice(0, Math.max(0, MAX_PROBLEMS - problems.length)));
    if (problems.length >= MAX_PROBLEMS) break;
  }

  const entries = first.log.entries();
  return {
    ok: problems.length === 0,
    problems,
    summary: {
      entries: entries.length,
      branches: branches0.size,
      leaves: first.log.leaves().length,
      forksByReconciler: [...branches0.values()].filter((b) => b.createdBy === "reconciler").length,
      authors: new Set([...net.authored.values()].map((a) => a.replica)).size,
    },
  };
};

const leafProblems = (r: Replica): string[] => {
  const out: string[] = [];
  const entries = r.docs.get("log")!.getArray<Entry>(LOG_ROOTS.entries).toArray();
  const ids = new Set(entries.map((e) => e.id));
  const parents = new Set(entries.map((e) => e.parent).filter((p): p is EntryId => p !== null));
  // Branch and info values are replaced, never deleted: once everything has arrived, no key may be left without a value.
  const doc = r.docs.get("log")!;
  for (const root of [LOG_ROOTS.branches, LOG_ROOTS.info]) {
    const map = doc.getMap(root);
    for (const key of map._map.keys()) if (!map.has(key)) out.push(`${r.name}: ${root}.${key} has no value (deleted)`);
  }
  const heads = new Set<EntryId>();
  for (const [name, b] of r.log.branches()) {
    heads.add(b.head);
    if (!ids.has(b.head)) out.push(`${r.name}: branch ${name} points at missing entry ${b.head}`);
  }
  for (const e of entries) {
    if (e.parent !== null && !ids.has(e.parent)) out.push(`${r.name}: entry ${e.id} has missing parent ${e.parent}`);
    if (!parents.has(e.id) && !heads.has(e.id)) out.push(`${r.name}: leaf ${e.id} is not the head of any branch`);
  }
  return out;
};

/**
 * For each entry E written by replica A: every ancestor of E must have been learned by A before A
 * wrote E. If not, E's transcript contains an entry A had not seen when it wrote E: two devices'
 * concurrent turns mixed into one transcript. Costs O(entries × replicas).
 */
const causalProblems = (net: Network, r: Replica): string[] => {
  const out: string[] = [];
  const entries = r.docs.get("log")!.getArray<Entry>(LOG_ROOTS.entries).toArray();
  const byId = new Map(entries.map((e) => [e.id, e]));
  // memo[a].get(id): the latest point at which replica a learned any ancestor of id (exclusive of id).
  const memo = net.replicas.map(() => new Map<EntryId, number>());
  const maxAncestorLearned = (a: number, id: EntryId): number => {
    const learned = net.replicas[a]!.learned;
    const m = memo[a]!;
    const stack: Entry[] = [];
    for (let cur = byId.get(id); cur && !m.has(cur.id); cur = cur.parent === null ? undefined : byId.get(cur.parent)) stack.push(cur);
    // Top-down: each entry's parent is memoized by now, or missing (counts as never learned).
    for (let i = stack.length - 1; i >= 0; i--) {
      const e = stack[i]!;
      const v = e.parent === null ? -1 : Math.max(learned.get(e.parent) ?? Infinity, m.get(e.parent) ?? Infinity);
      m.set(e.id, v);
    }
    return m.get(id) ?? Infinity;
  };
  for (const e of entries) {
    const a = net.authored.get(e.id);
    if (!a) {
      out.push(`${r.name}: entry ${e.id} has no recorded author`);
      continue;
    }
    const author = net.replicas[a.replica]!;
    if (e.meta.device !== author.device) out.push(`entry ${e.id}: meta.device ${e.meta.device} but written by ${author.name}`);
    const own = author.learned.get(e.id);
    const before = maxAncestorLearned(a.replica, e.id);
    if (own === undefined || before >= own) {
      out.push(
        `${r.name}: entry ${e.id} by ${author.name} follows an entry ${author.name} had not seen when writing it (concurrent turns interleaved)`,
      );
    }
    if (out.length >= MAX_PROBLEMS) break;
  }
  return out;
};

/** Throws with the seed, the problems and the recent network events when the network has not converged. */
export const assertConverged = (net: Network): ConvergenceReport => {
  const report = checkConvergence(net);
  if (!report.ok) {
    const lines = [`replicas did not converge (SEED=${net.seed})`, ...report.problems.map((p) => `  - ${p}`), "  last events:", ...net.trace().slice(-30).map((l) => `    ${l}`)];
    throw new Error(lines.join("\n"));
  }
  return report;
};
