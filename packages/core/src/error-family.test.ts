import { describe, expect, it } from "vitest";
import { errorFamily } from "./error-family.js";
import { coreError, isCoreError, toCoreError } from "./errors.js";

describe("error families", () => {
  it("make, recognise and convert errors of one family only", () => {
    const a = errorFamily<"AError", "x" | "internal">("AError");
    const b = errorFamily<"BError", "y" | "internal">("BError");
    const e = a.make("x", "boom", { at: 1 });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.message, e.details]).toEqual(["AError", "x", "boom", { at: 1 }]);
    expect(a.is(e)).toBe(true);
    expect(b.is(e)).toBe(false);
    expect(a.from(e, "internal")).toBe(e);
    const converted = b.from(e, "internal");
    expect([converted.name, converted.code, converted.message]).toEqual(["BError", "internal", "boom"]);
    expect(converted.details?.cause).toBe(e);
    expect(a.from("plain string", "internal").message).toBe("plain string");
  });
  it("core's CoreError is such a family", () => {
    const e = coreError("unknown-entry", "no such entry");
    expect(isCoreError(e)).toBe(true);
    expect(toCoreError(new TypeError("t")).code).toBe("internal");
    expect(toCoreError(e)).toBe(e);
  });
});
