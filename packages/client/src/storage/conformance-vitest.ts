import { describe, it } from "vitest";
import { storageConformanceCases, type StorageFactory } from "./conformance.js";

/** Register the shared ClientStorage conformance suite with vitest. */
export const runClientStorageConformance = (name: string, factory: StorageFactory): void => {
  describe(`ClientStorage conformance: ${name}`, () => {
    for (const c of storageConformanceCases) {
      it(c.name, async () => {
        const h = await factory();
        try {
          await c.run(h);
        } finally {
          await h.cleanup?.();
        }
      });
    }
  });
};
