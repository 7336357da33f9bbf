import * as Y from "yjs";

/**
 * The values a transaction inserted into `type` (a root array), found from the transaction's new
 * structs rather than from `event.changes`, which walks every item of the array: this keeps the
 * per-update cost proportional to the update, not to the document.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const insertedValues = <T>(type: Y.AbstractType<any>, tr: Y.Transaction): T[] => {
  const out: T[] = [];
  tr.afterState.forEach((after, client) => {
    const before = tr.beforeState.get(client) ?? 0;
    if (after <= before) return;
    const structs = tr.doc.store.clients.get(client);
    if (!structs) return;
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const s = structs[i];
      if (!(s instanceof Y.Item) || s.parent !== type || s.deleted || !(s.content instanceof Y.ContentAny)) continue;
      const offset = Math.max(0, before - s.id.clock);
      const values = s.content.arr as T[];
      for (let j = offset; j < values.length; j++) out.push(values[j]!);
    }
  });
  return out;
};
