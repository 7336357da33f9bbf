import { describe, expect, it } from "vitest";
import { buildSpmVocab, TokenType } from "./vocab.js";

describe("buildSpmVocab", () => {
  const v = buildSpmVocab();

  it("has the special tokens and all 256 byte-fallback tokens", () => {
    expect(v.tokens[v.unkId]).toBe("<unk>");
    expect(v.tokens[v.bosId]).toBe("<s>");
    expect(v.tokens[v.eosId]).toBe("</s>");
    const bytes = v.tokens.filter((_, i) => v.types[i] === TokenType.byte);
    expect(bytes).toHaveLength(256);
    expect(bytes[0x0a]).toBe("<0x0A>");
  });

  it("has unique pieces and every merged piece's prefixes (so SentencePiece merges can reach it)", () => {
    expect(new Set(v.tokens).size).toBe(v.tokens.length);
    const set = new Set(v.tokens);
    for (const [i, piece] of v.tokens.entries()) {
      if (v.types[i] !== TokenType.normal || [...piece].length < 2) continue;
      expect(set.has(piece.slice(0, -1))).toBe(true);
    }
    expect(v.tokens).toContain("\u2581the");
  });
});
