import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStorage, openSession, type Session } from "@ctxsync/client/node";
import { createRng, seedsToRun } from "@ctxsync/core";
import { onServer, waitFor } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

/**
 * Property: devices that go offline and online at random, each appending to the branch it is on,
 * converge — same branch map on every device and on the server, no orphaned entry, and every
 * device's current branch ends with the last entry it appended (its line was never merged into
 * another device's). Seeds are printed; rerun one with SEED=<n>.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ secret: "test-secret" });
});
afterAll(() => server.close());

const seeds = seedsToRun([1, 2, 3]);

describe("offline/online convergence", () => {
  for (const seed of seeds) {
    it(`converges (seed ${seed})`, async () => {
      console.log(`client convergence: SEED=${seed} (replay with SEED=${seed})`);
      const rng = createRng(seed);
      const rand = () => rng.next();
      const conversation = `conv${seed}x${Date.now().toString(36)}`;
      const devices: Session[] = [];
      for (const d of ["d1", "d2", "d3"])
        devices.push(await openSession({ conversation, url: server.wsUrl, token: server.token(conversation), storage: memoryStorage(), device: d, maxBackoffMs: 100 }));
      try {
        await devices[0]!.appendUser("start");
        for (const s of devices) await s.whenSynced();
        await waitFor(() => devices.every((s) => s.transcript().length === 1), "the start to reach everyone");
        let appended = 1;
        const last = new Map<Session, string>();
        for (let round = 0; round < 4; round++) {
          const offline = devices.filter(() => rand() < 0.6);
          offline.forEach((s) => s.disconnect());
          for (const s of devices) {
            const n = 1 + Math.floor(rand() * 3);
            for (let i = 0; i < n; i++) last.set(s, (await s.appendUser(`${s.device} r${round} #${i}`)).id);
            appended += n;
          }
          offline.forEach((s) => s.connect());
          for (const s of devices) await s.whenSynced();
          const size = (s: Session) => new Set(s.branches().flatMap((b) => s.transcript(b.name).map((e) => e.id))).size;
          await waitFor(() => devices.every((s) => size(s) === appended), `round ${round}: every entry on every device`);
          await waitFor(
            () => devices.every((s) => JSON.stringify(s.branches()) === JSON.stringify(devices[0]!.branches())),
            `round ${round}: identical branch maps`,
          );
          for (const s of devices) expect(s.transcript().at(-1)!.id, `${s.device} follows its own line`).toBe(last.get(s));
        }
        console.log(`seed ${seed}: ${appended} entries, ${devices[0]!.branches().length} branches`);
        const view = await onServer(server, conversation);
        expect(view.branches).toEqual(devices[0]!.branches());
      } finally {
        await Promise.all(devices.map((s) => s.close()));
      }
    });
  }
});
