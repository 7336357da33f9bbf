import type { CheckpointHandle, PrefixHash } from "@ctxsync/core";
import type { Manifest } from "./manifest.js";

/** The identity part of a checkpoint handle for the prefix a request leaves cached. */
export type CheckpointIdentity = Pick<CheckpointHandle, "provider" | "model" | "rendererVersion" | "renderContextHash" | "entry" | "prefixHash" | "tokens">;

/**
 * What a checkpoint handle for this request's prefix is keyed by (DESIGN.md §2: provider, model,
 * renderer version, render-context hash, h(E)). `prefixHash` is the log's h(E) of the manifest's
 * last entry (`log.prefixHash(manifest.lastEntryId)`); undefined when the request holds no entry.
 */
export const checkpointIdentity = (manifest: Manifest, prefixHash: PrefixHash): CheckpointIdentity | undefined =>
  manifest.lastEntryId === null
    ? undefined
    : {
        provider: manifest.renderer,
        model: manifest.model,
        rendererVersion: manifest.rendererVersion,
        renderContextHash: manifest.renderContextHash,
        entry: manifest.lastEntryId,
        prefixHash,
        tokens: manifest.totals.stableTokens,
      };
