import { isEntryId, type EntryId, type NoteId } from "./ids.js";
import { isJsonObject } from "./json.js";

/** A debugging annotation on an entry. Never rendered into a prompt. */
export interface Note {
  readonly id: NoteId;
  readonly entry: EntryId;
  readonly author: string;
  readonly time: number;
  readonly text: string;
}

export const noteProblem = (v: unknown): string | undefined => {
  if (!isJsonObject(v)) return "note must be an object";
  const extra = Object.keys(v).find((k) => !["id", "entry", "author", "time", "text"].includes(k));
  if (extra) return `note has unknown field ${extra}`;
  if (!isEntryId(v.id)) return "note id is malformed";
  if (!isEntryId(v.entry)) return "note must name an entry";
  if (typeof v.author !== "string" || typeof v.text !== "string") return "note needs author and text";
  if (typeof v.time !== "number" || !Number.isFinite(v.time)) return "note needs a numeric time";
  return undefined;
};
