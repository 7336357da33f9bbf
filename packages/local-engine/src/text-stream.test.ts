import { describe, expect, it } from "vitest";
import { findStop, stableTextLength } from "./text-stream.js";

describe("stableTextLength", () => {
  it("holds back an incomplete multi-byte character", () => {
    expect(stableTextLength("ab\uFFFD", [])).toBe(2);
  });
  it("holds back a tail that may become a stop string", () => {
    expect(stableTextLength("hello <|e", ["<|end|>"])).toBe(6);
    expect(stableTextLength("hello", ["<|end|>"])).toBe(5);
  });
});

describe("findStop", () => {
  it("finds the earliest stop string", () => {
    expect(findStop("a STOP b END", ["END", "STOP"])).toBe(2);
    expect(findStop("abc", ["x", ""])).toBe(-1);
  });
});
