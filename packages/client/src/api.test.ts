import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRenderCache } from "@ctxsync/compile";
import { fsStorage, memoryStorage, openSession } from "./node.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "ctxsync-api-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("the agent-loop API (local session)", () => {
  it("appends turns, reads transcripts, forks, switches branches and reports changes", async () => {
    const s = await openSession({ conversation: "api1", storage: memoryStorage(), device: "dev1" });
    const changes: string[] = [];
    s.on("change", (c) => changes.push(`${c.type}:${c.local}`));
    const u = await s.appendUser("list the files");
    const a = await s.appendAssistant(
      { text: "", reasoning: "use ls", toolCalls: [{ id: "call_1", name: "sh", arguments: { cmd: "ls" } }] },
      { provider: "openai-chat", model: "gpt-x" },
    );
    const t = await s.appendToolResult("call_1", "a.txt\nb.txt");
    await s.appendConfig({ cwd: "/tmp" });
    expect(s.transcript().map((e) => e.kind)).toEqual(["user", "assistant", "tool_result", "config"]);
    expect(s.entry(a.id)).toMatchObject({ parent: u.id, meta: { device: "dev1", provider: "openai-chat", model: "gpt-x" } });
    expect(changes).toContain("entries:true");

    const alt = await s.fork(a.id, { name: "alt" });
    expect(s.branch).toBe("alt");
    await s.appendToolResult("call_1", "permission denied", { isError: true });
    expect(s.transcript().map((e) => e.kind)).toEqual(["user", "assistant", "tool_result"]);
    expect(s.transcript("main").at(2)!.id).toBe(t.id);
    s.switchBranch("main");
    expect(s.branches().map((b) => b.name)).toEqual(["alt", "main"]);
    expect(alt).toBe("alt");
    const note = await s.addNote(t.id, "tool output looks stale");
    expect(s.notes(t.id)).toEqual([note]);
    await s.close();
  });

  it("compiles a branch for a provider, with the imported system prompt and hidden blobs of that provider", async () => {
    const s = await openSession({ conversation: "api2", storage: memoryStorage() });
    await s.setInfo("systemPrompt", "You are terse.");
    await s.appendUser("hi");
    const a = await s.appendAssistant({ text: "hello", reasoning: "greet" }, { provider: "anthropic", model: "claude-sonnet-4" });
    await s.attachHidden(a.id, { provider: "anthropic", model: "claude-sonnet-4", kind: "anthropic.thinking", data: { thinking: "greet", signature: "SIG" } });
    await s.appendUser("again");
    const out = s.compile({ provider: "anthropic", model: "claude-sonnet-4" });
    expect(JSON.stringify(out.request)).toContain("You are terse.");
    expect(JSON.stringify(out.request)).toContain("SIG");
    expect(out.manifest.totals.entries).toBe(3);
    const chat = s.compile({ provider: "openai-chat", model: "gpt-x", system: "Other" });
    expect(JSON.stringify(chat.request)).not.toContain("SIG");
    expect(chat.warnings.length).toBeGreaterThan(0);
    expect(() => s.compile({ provider: "nope" as "openai-chat", model: "m" })).toThrow(expect.objectContaining({ name: "SyncError", code: "bad-request" }));
    const rec = await s.recordUsage({ provider: "anthropic", model: "claude-sonnet-4", promptTokens: 100, cachedTokens: 80, expectedCachedTokens: 80, cacheWriteTokens: 0, outputTokens: 5, renderContextHash: out.manifest.renderContextHash });
    expect(s.usage()).toEqual([rec]);
    await s.close();
  });

  it("memoizes compiles of a branch, and renders a blob attached later to an entry compiled before", async () => {
    const s = await openSession({ conversation: "api5", storage: memoryStorage() });
    const ctx = { provider: "anthropic", model: "claude-sonnet-4" } as const;
    await s.appendUser("hi");
    const turns = [];
    for (let i = 0; i < 6; i++) {
      turns.push(await s.appendAssistant({ text: `turn ${i}` }, { provider: "anthropic", model: "claude-sonnet-4" }));
      await s.appendUser(`more ${i}`);
      s.compile(ctx);
    }
    // The first turns are memoized by now; their signature arrives late (C/hidden synced after C).
    await s.attachHidden(turns[0]!.id, { provider: "anthropic", model: "claude-sonnet-4", kind: "anthropic.thinking", data: { thinking: "late", signature: "LATE-SIG" } });
    const out = s.compile(ctx);
    expect(out.body).toContain("LATE-SIG");
    expect(out.body).toBe(s.compile(ctx, { cache: createRenderCache() }).body);
    await s.close();
  });

  it("keeps storage bounded: the update log is compacted into a snapshot and reopens intact", async () => {
    const dir = tempDir();
    const s = await openSession({ conversation: "api3", storage: fsStorage({ dir }), compaction: { maxUpdates: 25 } });
    for (let i = 0; i < 300; i++) await s.appendUser(`turn ${i}`);
    await s.flush();
    const log = statSync(join(dir, "api3", "updates.log")).size;
    const snap = statSync(join(dir, "api3", "snapshot")).size;
    await s.close();
    // 300 updates of ~200 bytes would be ~60 KB of log; at most 25 remain.
    expect(log).toBeLessThan(25 * 400);
    expect(snap).toBeGreaterThan(0);
    const again = await openSession({ conversation: "api3", storage: fsStorage({ dir }) });
    expect(again.transcript()).toHaveLength(300);
    expect(again.transcript().at(-1)).toMatchObject({ content: { text: "turn 299" } });
    await again.close();
  });

  it("a storage that fails makes the write call reject with storage-unavailable", async () => {
    const storage = memoryStorage();
    const s = await openSession({ conversation: "api4", storage });
    await storage.close();
    await expect(s.appendUser("x")).rejects.toMatchObject({ name: "SyncError", code: "storage-unavailable" });
  });
});
