import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/** A prefix hash: 64 lowercase hex characters of SHA-256. */
export type PrefixHash = string & { readonly __prefixHash: true };

const encoder = new TextEncoder();

/** h(root's parent): 32 zero bytes. */
export const ROOT_HASH = "0".repeat(64) as PrefixHash;

export const utf8 = (s: string): Uint8Array => encoder.encode(s);

export const sha256Hex = (data: Uint8Array | string): string =>
  bytesToHex(sha256(typeof data === "string" ? utf8(data) : data));

/**
 * h(E) = SHA-256(h(parent(E)) ‖ canonical(E)): the parent's hash as 64 hex characters,
 * then the canonical serialization of E. One call costs O(size of E).
 */
export const chainHash = (parent: PrefixHash, canonicalEntry: string): PrefixHash =>
  sha256Hex(parent + canonicalEntry) as PrefixHash;
