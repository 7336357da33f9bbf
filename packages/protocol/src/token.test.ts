import { describe, expect, it } from "vitest";
import { parseTtl, signToken, verifyToken } from "./token.js";
import { canRead, canWrite } from "./scopes.js";
import { closeReason, codeForClose, CLOSE_CODES } from "./close-codes.js";

describe("tokens", () => {
  const secret = "s3cret";
  it("round-trips claims", () => {
    const t = signToken(secret, { conversation: "c1", scopes: ["read", "append"], ttlSeconds: 60, now: 1000 });
    expect(verifyToken(secret, t, 1001)).toMatchObject({ conv: "c1", scopes: ["read", "append"], exp: 1060 });
  });
  it("refuses missing, forged, tampered, expired and non-HS256 tokens", () => {
    const t = signToken(secret, { conversation: "c1", scopes: ["read"], ttlSeconds: 60, now: 1000 });
    expect(() => verifyToken(secret, undefined, 1001)).toThrow(/missing token/);
    expect(() => verifyToken("other", t, 1001)).toThrow(/signature/);
    const [h, , s] = t.split(".");
    const forged = `${h}.${btoa(JSON.stringify({ conv: "c1", scopes: ["admin"], iat: 1000, exp: 9999 })).replace(/=+$/, "")}.${s}`;
    expect(() => verifyToken(secret, forged, 1001)).toThrow(/signature/);
    expect(() => verifyToken(secret, t, 2000)).toThrow(expect.objectContaining({ code: "token-expired" }));
    const none = `${btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "")}.${t.split(".")[1]}.`;
    expect(() => verifyToken(secret, none, 1001)).toThrow(/HS256|malformed|signature/);
    expect(() => verifyToken(secret, "a.b", 1001)).toThrow(/malformed/);
  });
  it("parses ttls", () => {
    expect(parseTtl("1h")).toBe(3600);
    expect(parseTtl("90s")).toBe(90);
    expect(() => parseTtl("soon")).toThrow(/invalid ttl/);
  });
});

describe("scopes and close codes", () => {
  it("maps scopes to documents", () => {
    expect(canRead(["read"], "log")).toBe(true);
    expect(canRead(["read"], "hidden")).toBe(false);
    expect(canWrite(["read"], "log")).toBe(false);
    expect(canWrite(["append"], "cache")).toBe(true);
    expect(canWrite(["append"], "hidden")).toBe(false);
    expect(canWrite(["append", "hidden"], "hidden")).toBe(true);
  });
  it("round-trips close codes and bounds reasons", () => {
    expect(codeForClose(CLOSE_CODES["append-only-violation"])).toBe("append-only-violation");
    expect(new TextEncoder().encode(closeReason("é".repeat(200))).length).toBeLessThanOrEqual(123);
  });
});
