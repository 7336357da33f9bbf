/** Branded identifiers: a plain string at run time, distinct types at compile time. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type ConversationId = Brand<string, "ConversationId">;
export type EntryId = Brand<string, "EntryId">;
export type BranchName = Brand<string, "BranchName">;
export type DeviceId = Brand<string, "DeviceId">;
export type NoteId = Brand<string, "NoteId">;

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A random id of `length` base-36 characters (Web Crypto: works in Node and browsers). */
export const randomId = (length = 16): string => {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % 36];
  return out;
};

export const newEntryId = (): EntryId => `e${randomId(15)}` as EntryId;
export const newNoteId = (): NoteId => `n${randomId(15)}` as NoteId;
export const newDeviceId = (): DeviceId => `d${randomId(11)}` as DeviceId;

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const BRANCH_RE = /^[A-Za-z0-9_][A-Za-z0-9_./:-]{0,127}$/;
const CONVERSATION_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

export const isEntryId = (v: unknown): v is EntryId => typeof v === "string" && ID_RE.test(v);
export const isBranchName = (v: unknown): v is BranchName => typeof v === "string" && BRANCH_RE.test(v);
/** Conversation ids never contain `/`: `C/cache` and `C/hidden` are the derived document names. */
export const isConversationId = (v: unknown): v is ConversationId =>
  typeof v === "string" && CONVERSATION_RE.test(v);

export const asEntryId = (v: string): EntryId => v as EntryId;
export const asBranchName = (v: string): BranchName => v as BranchName;
export const asDeviceId = (v: string): DeviceId => v as DeviceId;
export const asConversationId = (v: string): ConversationId => v as ConversationId;
