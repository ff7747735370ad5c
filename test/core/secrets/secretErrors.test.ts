import { describe, expect, it } from "vitest";
import {
  isSecretDisabledError,
  isSecretStoreError,
  SecretDisabledError,
  secretNotFound,
  SecretStoreError,
} from "../../../src/core/secrets/secretErrors.js";
import { assertValidSecretName, isValidSecretName } from "../../../src/core/secrets/secretName.js";

describe("secret store errors", () => {
  it("gives a disabled version a stable code, status and a message naming the version", () => {
    const error = new SecretDisabledError("openai-key", "0123456789abcdef0123456789abcdef");
    expect(error).toMatchObject({ code: "secret_disabled", statusCode: 403, name: "SecretDisabledError", secretName: "openai-key" });
    expect(error.message).toContain("openai-key");
    expect(error.message).toContain("0123456789abcdef0123456789abcdef");
    expect(isSecretDisabledError(error)).toBe(true);
    expect(isSecretStoreError(error)).toBe(true);
    expect(isSecretStoreError(error, "secret_not_found")).toBe(false);
  });

  it("recognises errors by name and code, across realms, not by instanceof", () => {
    const lookalike = Object.assign(new Error("x"), { name: "SecretStoreError", code: "secret_not_found" });
    expect(isSecretStoreError(lookalike, "secret_not_found")).toBe(true);
    expect(isSecretDisabledError(lookalike)).toBe(false);
    expect(isSecretStoreError(new Error("plain"))).toBe(false);
    expect(isSecretStoreError({ name: "SecretStoreError", code: "secret_disabled" })).toBe(false);
    expect(secretNotFound("n", "v")).toBeInstanceOf(SecretStoreError);
    expect(secretNotFound("n", "v")).toMatchObject({ code: "secret_not_found", statusCode: 404 });
  });

  it("validates names as Key Vault does", () => {
    expect(isValidSecretName("audit-digest-key")).toBe(true);
    expect(isValidSecretName("A1")).toBe(true);
    expect(isValidSecretName("a".repeat(127))).toBe(true);
    for (const bad of ["", "a".repeat(128), "under_score", "dot.ted", "spa ce", "ünï"]) {
      expect(isValidSecretName(bad)).toBe(false);
    }
    expect(() => assertValidSecretName("bad_name")).toThrow(expect.objectContaining({ code: "invalid_secret_name" }));
  });
});
