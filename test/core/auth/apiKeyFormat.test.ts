import { describe, expect, it } from "vitest";
import { apiKeyDisplayPrefix, base32, formatApiKey, hashApiKeySecret, parseApiKey, secretHashesEqual } from "../../../src/core/auth/apiKeyFormat.js";

const keyId = "abcdefghijklmnop";
const secret = "a".repeat(26) + "234567".repeat(4) + "bb";

describe("API key format", () => {
  it("encodes base32 per RFC 4648 (lower case, no padding)", () => {
    expect(base32(new TextEncoder().encode("foobar"))).toBe("mzxw6ytboi");
    expect(base32(new Uint8Array(10)).length).toBe(16);
    expect(base32(new Uint8Array(32)).length).toBe(52);
  });

  it("round-trips format and parse", () => {
    expect(secret).toHaveLength(52);
    const key = formatApiKey(keyId, secret);
    expect(key).toBe(`pal_${keyId}_${secret}`);
    expect(parseApiKey(key)).toEqual({ keyId, secret });
  });

  it.each([
    ["empty", ""],
    ["wrong prefix", `pak_${keyId}_${secret}`],
    ["upper case", `pal_${keyId.toUpperCase()}_${secret}`],
    ["short secret", `pal_${keyId}_${secret.slice(1)}`],
    ["long secret", `pal_${keyId}_${secret}a`],
    ["bad alphabet (1, 8, 0)", `pal_${keyId}_${secret.slice(0, 51)}1`],
    ["no separator", `pal_${keyId}${secret}x`],
    ["whitespace", ` pal_${keyId}_${secret.slice(1)}`],
  ])("rejects %s", (_label, token) => {
    expect(parseApiKey(token)).toBeNull();
  });

  it("hashes with the key id bound in and compares in constant time", () => {
    const hash = hashApiKeySecret(keyId, secret);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(hashApiKeySecret("bcdefghijklmnopq", secret)).not.toBe(hash);
    expect(hashApiKeySecret(keyId, secret.replace(/.$/, "c"))).not.toBe(hash);
    expect(secretHashesEqual(hash, hash)).toBe(true);
    expect(secretHashesEqual(hash, hashApiKeySecret(keyId, "x"))).toBe(false);
    expect(secretHashesEqual(hash, hash.slice(2))).toBe(false);
    expect(secretHashesEqual(hash, "not hex")).toBe(false);
  });

  it("shows only a prefix", () => {
    expect(apiKeyDisplayPrefix(keyId)).toBe(`pal_${keyId}_…`);
  });
});
