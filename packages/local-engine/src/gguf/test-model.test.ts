import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { tempModel } from "../test-util.js";
import { generateTestModel } from "./test-model.js";

const sha = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");

describe("generateTestModel", () => {
  it("is deterministic per seed and differs across seeds", async () => {
    const a = await tempModel(7);
    const b = await generateTestModel({ seed: 7, path: join(a.dir, "again.gguf") });
    const c = await generateTestModel({ seed: 8, path: join(a.dir, "other.gguf") });
    expect(await sha(a.path)).toBe(await sha(b.path));
    expect(await sha(a.path)).not.toBe(await sha(c.path));
    expect(a.sizeBytes).toBeGreaterThan(1_000_000);
    expect(a.sizeBytes).toBeLessThan(10_000_000);
  });

  it("writes a GGUF v3 llama file that an independent reader parses", async () => {
    const m = await tempModel(3);
    const info = await readGgufFileInfo(m.path, { sourceType: "filesystem", logWarnings: false });
    expect(info.version).toBe(3);
    const md = info.metadata as unknown as {
      general: { architecture: string; alignment?: number };
      llama: { block_count: number; embedding_length: number; attention: { head_count: number; head_count_kv: number } };
      tokenizer: { ggml: { model: string; tokens: string[]; token_type: number[] } };
    };
    expect(md.general.architecture).toBe("llama");
    expect(md.llama.block_count).toBe(m.layers);
    expect(md.llama.embedding_length).toBe(m.embedding);
    expect(md.tokenizer.ggml.model).toBe("llama");
    expect(md.tokenizer.ggml.tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect(md.tokenizer.ggml.tokens).toContain("<0x00>");
    expect(md.tokenizer.ggml.tokens).toContain("<0xFF>");
    expect(md.tokenizer.ggml.tokens.length).toBe(m.vocabSize);
    const names = (info.fullTensorInfo ?? info.tensorInfo ?? []).map((t) => t.name);
    expect(names).toContain("token_embd.weight");
    expect(names).toContain(`blk.${m.layers - 1}.ffn_down.weight`);
    expect(names).toContain("output.weight");
    expect(names).toHaveLength(3 + 9 * m.layers);
    // Tensor data offsets are 32-byte aligned, as the spec requires.
    for (const t of info.fullTensorInfo ?? info.tensorInfo ?? []) expect(Number(t.offset) % 32).toBe(0);
  });
});
