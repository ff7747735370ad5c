import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMockArm, startMockArm } from "../../../local/mockArm/index.js";
import { AzureOpenAiKeyIssuer } from "../../../src/adapters/issuers/AzureOpenAiKeyIssuer.js";
import { createCredential } from "../../../src/adapters/identity/createCredential.js";
import { isCredentialIssuerError } from "../../../src/core/rotation/CredentialIssuer.js";
import { credentialFixture } from "../../core/rotation/rotationFixture.js";

let arm: RunningMockArm;
beforeAll(async () => {
  arm = await startMockArm();
});
afterAll(async () => {
  await arm.stop();
});

const context = (slotsInUse: string[]) => ({ rotationId: "r1", slotsInUse, expiresAtInMs: Date.now() + 86_400_000 });

describe("AzureOpenAiKeyIssuer", () => {
  it("regenerates only the slot not in use and returns that slot's new key", async () => {
    const account = arm.addAccount({ subscription: "s", resourceGroup: "rg", name: "acct-a" });
    const before = arm.keysOf(account.resourceId);
    const issuer = new AzureOpenAiKeyIssuer({ credential: createCredential({ local: true }), armBaseUrl: arm.url });
    const credential = credentialFixture({ issuer: "azure-openai", target: account.resourceId, deployment: "gpt-4o" });
    const minted = await issuer.mint(credential, context(["Key1"]));
    const after = arm.keysOf(account.resourceId);
    expect(minted).toEqual({ value: after?.key2, issuerKeyId: "Key2", slot: "Key2" });
    expect(after?.key1).toBe(before?.key1);
    expect(after?.key2).not.toBe(before?.key2);
    expect(arm.calls.regenerate.at(-1)).toBe("Key2");
    await expect(issuer.mint(credential, context(["Key1", "Key2"]))).rejects.toThrow(/Both keys/);
  });

  it("uses a configurable verify function, retries refusals, and sends the ARM token", async () => {
    const account = arm.addAccount({ subscription: "s", resourceGroup: "rg", name: "acct-b" });
    const seen: string[] = [];
    let calls = 0;
    const issuer = new AzureOpenAiKeyIssuer({
      credential: createCredential({ local: true }),
      armBaseUrl: arm.url,
      verifyAttempts: 3,
      verifyRetryDelayInMs: 1,
      verify: async (input) => {
        calls += 1;
        seen.push(input.endpoint, input.deployment);
        return calls >= 2;
      },
    });
    const credential = credentialFixture({ issuer: "azure-openai", target: account.resourceId, deployment: "gpt-4o" });
    expect(await issuer.verify(credential, "whatever")).toBe(true);
    expect(calls).toBe(2);
    expect(seen[0]).toBe(account.endpoint);
    expect(seen[1]).toBe("gpt-4o");
  });

  it("reports ARM refusals with status and code, never with keys or tokens", async () => {
    const issuer = new AzureOpenAiKeyIssuer({ credential: { getToken: async () => ({ token: "t", expiresOnTimestamp: Date.now() + 60_000 }) }, armBaseUrl: arm.url });
    const credential = credentialFixture({ issuer: "azure-openai", target: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/missing", deployment: "gpt-4o" });
    const error: unknown = await issuer.mint(credential, context([])).then(() => null, (caught: unknown) => caught);
    expect(isCredentialIssuerError(error)).toBe(true);
    expect((error as Error).message).toMatch(/status 404, ResourceNotFound/);
    const noToken = new AzureOpenAiKeyIssuer({ credential: { getToken: async () => ({ token: "", expiresOnTimestamp: 0 }) }, armBaseUrl: arm.url });
    const account = arm.addAccount({ subscription: "s", resourceGroup: "rg", name: "acct-c" });
    const refused: unknown = await noToken.listKeys(credentialFixture({ issuer: "azure-openai", target: account.resourceId })).then(() => null, (caught: unknown) => caught);
    expect((refused as Error).message).toMatch(/status 401.*Cognitive Services Contributor/);
    expect((refused as Error).message).not.toContain(arm.keysOf(account.resourceId)?.key1 ?? "###");
  });

  it("refuses a target that is not an account's ARM id", async () => {
    const issuer = new AzureOpenAiKeyIssuer({ credential: createCredential({ local: true }), armBaseUrl: arm.url });
    await expect(issuer.mint(credentialFixture({ issuer: "azure-openai", target: "not-an-arm-id" }), context([]))).rejects.toThrow(/ARM id/);
  });
});
