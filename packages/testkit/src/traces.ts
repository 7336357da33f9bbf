import { messageToEntry, SYSTEM_PROMPT_INFO, type EntryId, type EntryInput, type TranscriptMessage } from "@ctxsync/core";
import type { Network, Replica } from "./network.js";
import { appendTurn } from "./ops.js";
import type { Rng } from "./rng.js";
import { sentence } from "./turns.js";

/**
 * Split a transcript into the turns a device appends at once: a user message, or an assistant
 * message with the tool results that answer it. A leading system message is not a turn.
 */
export const transcriptTurns = (messages: readonly TranscriptMessage[]): EntryInput[][] => {
  const rest = messages[0]?.role === "system" ? messages.slice(1) : messages;
  const turns: EntryInput[][] = [];
  for (const m of rest) {
    const entry = messageToEntry(m);
    const last = turns[turns.length - 1];
    if (m.role === "tool" && last) last.push(entry);
    else turns.push([entry]);
  }
  return turns;
};

export interface ReplayOptions {
  /** Network ticks between turns (messages fly, get lost and reordered meanwhile). */
  readonly ticksBetweenTurns?: number;
  /** Probability per turn that some other device goes offline or comes back. */
  readonly churn?: number;
  /** Probability per turn that some device writes a debugging note. */
  readonly notes?: number;
}

/**
 * Replay a transcript on branch `main`, each turn appended by a randomly chosen device. Before its
 * turn, a device waits (ticks of the lossy network, then a reconnect and resync if needed) until it
 * has the previous turn, like a user who picks up the conversation on another device. Other devices
 * go offline and come back and write notes meanwhile. Returns the ids of the appended entries.
 */
export const replayTranscript = (net: Network, messages: readonly TranscriptMessage[], rng: Rng, opts: ReplayOptions = {}): EntryId[] => {
  const { ticksBetweenTurns = 2, churn = 0.1, notes = 0.05 } = opts;
  const ids: EntryId[] = [];
  let previous: EntryId | undefined;
  const system = messages[0]?.role === "system" ? messages[0].content : undefined;
  if (system !== undefined) rng.pick(net.replicas).log.setInfo(SYSTEM_PROMPT_INFO, system);
  for (const turn of transcriptTurns(messages)) {
    const r = rng.pick(net.replicas);
    catchUp(net, r, previous);
    r.branch = "main";
    const made = appendTurn(net, r, turn, rng.chance(0.5));
    for (const e of made) ids.push(e.id);
    previous = ids[ids.length - 1];
    for (let t = 0; t < ticksBetweenTurns; t++) net.step();
    if (rng.chance(churn)) {
      const other = rng.pick(net.replicas);
      if (other !== r && other.online) net.goOffline(other.index);
      else net.goOnline(other.index);
    }
    if (rng.chance(notes)) {
      const w = rng.pick(net.replicas);
      const entries = w.log.entries();
      if (entries.length > 0) w.log.addNote(rng.pick(entries).id, sentence(rng, 1, 5), w.name);
    }
  }
  return ids;
};

/** Let the network run until `r` has entry `id`; reconnect and resync when waiting does not help. */
const catchUp = (net: Network, r: Replica, id: EntryId | undefined): void => {
  if (id === undefined) return;
  const has = () => r.log.index.has(id);
  for (let attempt = 0; !has(); attempt++) {
    if (attempt > 50) throw new Error(`SEED=${net.seed}: ${r.name} never received ${id}`);
    if (!r.online) net.goOnline(r.index);
    for (let s = 0; s < net.servers; s++) net.goOnline(s); // servers restart
    for (let t = 0; t < 4 && !has(); t++) net.step();
    if (has()) return;
    const author = [...net.replicas].find((x) => x.log.index.has(id));
    if (author && !author.online) net.goOnline(author.index);
    if (author) {
      // In a star the path goes author -> its server -> (other servers) -> r's server -> r.
      const a = net.serverOf(author.index);
      const b = net.serverOf(r.index);
      if (a === undefined || b === undefined) net.resync(r.index, author.index, true);
      else {
        if (a !== author.index) net.resync(author.index, a, true);
        if (a !== b) net.resync(a, b, true);
        if (b !== r.index) net.resync(r.index, b, true);
      }
    }
  }
};
