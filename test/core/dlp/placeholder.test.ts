import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPlaceholder } from "../../../src/core/dlp/secrets/placeholder.js";

// The expressions isPlaceholder's walk replaced, kept here as the reference it must agree with.
const PLACEHOLDER_WORDS =
  /(?:x{5,}|X{5,}|\*{4,}|\.{3}|0{8,}|EXAMPLE|example|REPLACE|replace[_-]?me|your[_-]?(?:api[_-]?)?(?:key|token|secret|password)|changeme|change[_-]me|placeholder|PLACEHOLDER|dummy|DUMMY|redacted|REDACTED|insert[_-]|INSERT[_-]|abcdefghij|ABCDEFGHIJ)/;
const YOUR_VALUE = /^(?:your|YOUR|Your|my|MY)[_-]/;
const TEMPLATE = /^(?:<[^>]*>|\$\{?[A-Za-z_][\w.]*\}?|\{\{.*\}\}|%[A-Za-z_]+%|@[A-Za-z_]+@)$/;

function reference(secret: string): boolean {
  if (TEMPLATE.test(secret) || PLACEHOLDER_WORDS.test(secret) || YOUR_VALUE.test(secret)) return true;
  const tailStart = Math.max(secret.lastIndexOf("_"), secret.lastIndexOf("-")) + 1;
  if (secret.length - tailStart < 4) return false;
  const first = secret.charCodeAt(tailStart);
  for (let i = tailStart + 1; i < secret.length; i += 1) if (secret.charCodeAt(i) !== first) return false;
  return true;
}

describe("isPlaceholder", () => {
  it("agrees with the allowlist expressions on values built from their words, pieces and near misses (property)", () => {
    const piece = fc.constantFrom(
      ...["x", "X", "*", ".", "0", "_", "-", "a", "A", "e", "E", "k", "7", "<", ">", "$", "{", "}", "%", "@", "your", "YOUR", "Your", "my", "MY", "api"],
      ...["key", "token", "secret", "password", "EXAMPLE", "example", "exampl", "REPLACE", "replace", "me", "change", "placeholder", "PLACEHOLDER", "placeholde"],
      ...["dummy", "DUMMY", "dumm", "redacted", "REDACTED", "insert", "INSERT", "abcdefghij", "ABCDEFGHIJ", "abcdefghi", "xxxx", "0000000", "***", ".."],
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const value = pieces.join("");
        expect(isPlaceholder(value)).toBe(reference(value));
      }),
      { numRuns: 20000 },
    );
  });

  it("agrees with them on random text (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        expect(isPlaceholder(value)).toBe(reference(value));
      }),
      { numRuns: 5000 },
    );
  });

  it("allowlists the documented placeholders and keeps real-looking values", () => {
    for (const value of ["AKIAIOSFODNN7EXAMPLE", "ghp_xxxxxxxxxxxxxxxxxxxx", "REPLACE_ME", "<your-key>", "${API_KEY}", "changeme", "change-me", "your_api_key", "sk_live_aaaaaaaa", "INSERT_KEY_HERE", "00000000"]) {
      expect(isPlaceholder(value)).toBe(true);
    }
    for (const value of ["Xk9vQ2mP", "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6", "replace_m", "yours_truly1", "sk_live_aaab"]) expect(isPlaceholder(value), value).toBe(false);
  });
});
