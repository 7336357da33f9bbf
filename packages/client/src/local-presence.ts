import type { Awareness } from "y-protocols/awareness";
import { peersOf, type Peer, type PresenceState } from "./presence.js";

/** This device's presence: its awareness state, patched field by field, and the peers it sees. */
export interface LocalPresence {
  readonly selfId: number;
  state(): PresenceState;
  /** Merge `patch` into the local state; an `undefined` field is removed. */
  set(patch: Partial<PresenceState>): void;
  /** Every device seen through awareness, this one included (`self: true`). */
  peers(): Peer[];
}

export const createLocalPresence = (awareness: Awareness, initial: PresenceState): LocalPresence => {
  awareness.setLocalState(initial);
  const state = (): PresenceState => (awareness.getLocalState() ?? { device: initial.device }) as PresenceState;
  return {
    selfId: awareness.clientID,
    state,
    set(patch) {
      const next: Record<string, unknown> = { ...state(), ...patch };
      for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
      awareness.setLocalState(next);
    },
    peers: () => peersOf(awareness.getStates(), awareness.clientID),
  };
};
