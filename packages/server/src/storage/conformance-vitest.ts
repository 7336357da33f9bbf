import { describe, it } from "vitest";
import { docStoreCasesFor, type DocStoreHarness } from "./conformance.js";

/** Register the shared DocStore conformance suite with vitest (a `skipReason` skips it, saying why). */
export const registerDocStoreConformance = (name: string, h: DocStoreHarness, opts: { skipReason?: string } = {}): void => {
  if (opts.skipReason) console.log(`storage conformance (${name}) skipped: ${opts.skipReason}`);
  describe.skipIf(opts.skipReason !== undefined)(`storage conformance: ${name}`, () => {
    for (const c of docStoreCasesFor(h)) it(c.name, () => c.run(h));
  });
};
