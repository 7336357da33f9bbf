import { canonicalJson } from "@ctxsync/core";
import { describe, expect, it } from "vitest";
import { getMember, setMember } from "./body-edit.js";
import { isProviderError } from "./errors.js";

const LAYOUT = ["tools", "messages"];

describe("byte-exact body edits", () => {
  const body = '{"max_tokens":6,"model":"m","temperature":0,"tools":[{"a":"}"}],"messages":[{"role":"user","content":"x \\" ]}"}]}';

  it("replaces a value and keeps every other byte", () => {
    const out = setMember(body, ["max_tokens"], 1, LAYOUT);
    expect(out).toBe(body.replace('"max_tokens":6', '"max_tokens":1'));
    expect(getMember(out, ["max_tokens"])).toBe(1);
  });

  it("inserts a new parameter in key order before the layout members", () => {
    expect(setMember(body, ["stream"], true, LAYOUT)).toBe(body.replace(',"temperature"', ',"stream":true,"temperature"'));
    expect(setMember(body, ["top_p"], 1, LAYOUT)).toBe(body.replace(',"tools"', ',"top_p":1,"tools"'));
    expect(setMember(body, ["a"], 1, LAYOUT)).toBe(body.replace('{"max_tokens"', '{"a":1,"max_tokens"'));
    // no parameters at all: first member
    expect(setMember('{"messages":[]}', ["stream"], true, LAYOUT)).toBe('{"stream":true,"messages":[]}');
    expect(setMember("{}", ["stream"], true, LAYOUT)).toBe('{"stream":true}');
  });

  it("equals the canonical serialization when the whole body is canonical", () => {
    const obj = { model: "m", prompt: "p", temperature: 0 };
    expect(setMember(canonicalJson(obj), ["stream"], true, [])).toBe(canonicalJson({ ...obj, stream: true }));
    expect(setMember(canonicalJson(obj), ["max_tokens"], 0, [])).toBe(canonicalJson({ ...obj, max_tokens: 0 }));
  });

  it("sets nested members, creating the parent object where needed", () => {
    const g = '{"generationConfig":{"temperature":0},"contents":[]}';
    expect(setMember(g, ["generationConfig", "maxOutputTokens"], 1, ["contents"])).toBe('{"generationConfig":{"maxOutputTokens":1,"temperature":0},"contents":[]}');
    expect(setMember('{"contents":[]}', ["generationConfig", "maxOutputTokens"], 1, ["contents"])).toBe('{"generationConfig":{"maxOutputTokens":1},"contents":[]}');
    expect(getMember(g, ["generationConfig", "temperature"])).toBe(0);
    expect(getMember(g, ["generationConfig", "nope"])).toBeUndefined();
  });

  it("refuses what is not a JSON object with a clear error", () => {
    for (const bad of ["[1]", '{"a":', '{"a" 1}', '{"a":"x', "", '{"a":1,}'])
      expect(() => setMember(bad, ["stream"], true, LAYOUT), bad).toThrow(expect.objectContaining({ name: "ProviderError", code: "bad-request" }));
    try {
      setMember('{"a":', ["b"], 1, []);
    } catch (e) {
      expect(isProviderError(e) && e.message).toMatch(/compiled body/);
    }
  });
});
