import type { SecretClient } from "@azure/keyvault-secrets";
import { describe, expect, it } from "vitest";
import { KeyVaultSecretStore } from "../../../src/adapters/keyvault/KeyVaultSecretStore.js";
import { isSecretDisabledError, isSecretStoreError } from "../../../src/core/secrets/secretErrors.js";

/** An error shaped like the SDK's RestError, carrying the request (and so the secret value). */
function restError(statusCode: number | undefined, code: string, message: string, body = ""): Error {
  return Object.assign(new Error(message), { name: "RestError", statusCode, code, request: { body, headers: { authorization: "Bearer tok" } } });
}

function storeFailingWith(error: Error): KeyVaultSecretStore {
  const reject = async (): Promise<never> => {
    throw error;
  };
  const client = { getSecret: reject, setSecret: reject, updateSecretProperties: reject } as unknown as SecretClient;
  return new KeyVaultSecretStore(client);
}

describe("KeyVaultSecretStore error mapping (what the emulator cannot produce)", () => {
  it("tells a caller without access (403 ForbiddenByRbac) apart from a disabled secret", async () => {
    const store = storeFailingWith(restError(403, "Forbidden", "Caller is not authorized to perform action on resource."));
    const error = await store.getSecret("openai-key").catch((e: unknown) => e);
    expect(isSecretDisabledError(error)).toBe(false);
    expect(isSecretStoreError(error, "secret_store_failed")).toBe(true);
    expect(error).toMatchObject({ statusCode: 403 });
    expect((error as Error).message).toMatch(/Secrets role/);
  });

  it("maps Key Vault's disabled refusal to SecretDisabledError", async () => {
    const store = storeFailingWith(restError(403, "Forbidden", "Operation get is not allowed on a disabled secret."));
    await expect(store.getSecret("openai-key", { version: "ab".repeat(16) })).rejects.toMatchObject({
      code: "secret_disabled",
      version: "ab".repeat(16),
    });
  });

  it("never passes on the SDK error (whose request holds the value and the token) from setSecret", async () => {
    const store = storeFailingWith(restError(500, "InternalServerError", "boom", JSON.stringify({ value: "sk-live-value" })));
    const error = await store.setSecret("openai-key", "sk-live-value").catch((e: unknown) => e);
    expect(isSecretStoreError(error, "secret_store_failed")).toBe(true);
    expect((error as Error).cause).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain("sk-live-value");
    expect(JSON.stringify(error)).not.toContain("Bearer");
    expect((error as Error).message).not.toContain("sk-live-value");
  });

  it("reports a network failure without a status, and passes an abort through", async () => {
    const network = await storeFailingWith(restError(undefined, "REQUEST_SEND_ERROR", "connect ECONNREFUSED"))
      .getSecret("s")
      .catch((e: unknown) => e);
    expect(network).toMatchObject({ code: "secret_store_failed", statusCode: null });
    const abort = Object.assign(new Error("aborted"), { name: "AbortError" });
    await expect(storeFailingWith(abort).getSecret("s")).rejects.toBe(abort);
  });
});
