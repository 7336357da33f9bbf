import type { JsonValue } from "@ctxsync/core";

/** What a device says about itself through awareness (never stored, gone when it goes away). */
export interface PresenceState {
  readonly device: string;
  readonly user?: string;
  /** A claim to drive a branch: one driver at a time; renewed while alive. */
  readonly drives?: DriveClaim;
  /** The entry (and branch) this device is looking at. */
  readonly viewing?: { readonly entry: string | null; readonly branch: string };
  /** Output being generated: partial assistant text, tool progress. Appended to the log only when complete. */
  readonly partial?: JsonValue;
}

export interface DriveClaim {
  readonly branch: string;
  /** When the claim was made (ms); with the device id it orders competing claims. */
  readonly claimedAt: number;
  /** The claim lapses after this time unless renewed. */
  readonly until: number;
}

/** A device seen through awareness: its state plus the awareness client id it speaks with. */
export interface Peer extends PresenceState {
  readonly clientId: number;
  readonly self: boolean;
}

export const isPresenceState = (v: unknown): v is PresenceState =>
  typeof v === "object" && v !== null && typeof (v as { device?: unknown }).device === "string";

export const peersOf = (states: ReadonlyMap<number, unknown>, selfId: number): Peer[] => {
  const out: Peer[] = [];
  for (const [clientId, s] of states) if (isPresenceState(s)) out.push({ ...s, clientId, self: clientId === selfId });
  return out.sort((a, b) => a.clientId - b.clientId);
};

/**
 * The tie-break every replica applies to the claims it sees: the earliest live claim wins, then
 * the smaller device id, then the smaller awareness client id. All devices see the same claims
 * after the settle window, so all pick the same holder.
 */
export const leaseHolder = (peers: readonly Peer[], branch: string, now: number): Peer | undefined => {
  let best: Peer | undefined;
  for (const p of peers) {
    const d = p.drives;
    if (!d || d.branch !== branch || d.until <= now) continue;
    if (
      !best ||
      d.claimedAt < best.drives!.claimedAt ||
      (d.claimedAt === best.drives!.claimedAt && (p.device < best.device || (p.device === best.device && p.clientId < best.clientId)))
    )
      best = p;
  }
  return best;
};

export const describeHolder = (p: Peer): string => `${p.device}${p.user ? ` (${p.user})` : ""}`;
