import { type AccessToken, type TokenCredential } from "@azure/identity";
import { describe, expect, it } from "vitest";
import { DeferredAzureCredential, createCredential, defaultAzureCredential } from "../../../src/adapters/identity/createCredential.js";
import { LocalDevelopmentCredential } from "../../../src/adapters/identity/LocalDevelopmentCredential.js";

describe("createCredential", () => {
  it("gives the local stack a static development token", async () => {
    const credential = createCredential({ local: true, managedIdentityClientId: "ignored-locally" });
    expect(credential).toBeInstanceOf(LocalDevelopmentCredential);
    const token = await credential.getToken("https://vault.azure.net/.default");
    expect(token?.token).toBe(LocalDevelopmentCredential.TOKEN);
    expect(token?.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  it("uses DefaultAzureCredential in Azure, with or without a user-assigned identity, built at the first token request", async () => {
    expect(createCredential({})).toBeInstanceOf(DeferredAzureCredential);
    const built: (string | undefined)[] = [];
    const token: AccessToken = { token: "t", expiresOnTimestamp: Date.now() + 60_000 };
    const factory = async (clientId: string | undefined): Promise<TokenCredential> => {
      built.push(clientId);
      return { getToken: async () => token };
    };
    const credential = new DeferredAzureCredential("00000000-0000-0000-0000-000000000001", factory);
    expect(built).toEqual([]);
    expect(await credential.getToken("https://vault.azure.net/.default")).toBe(token);
    expect(await credential.getToken("https://storage.azure.com/.default")).toBe(token);
    expect(built).toEqual(["00000000-0000-0000-0000-000000000001"]);
  });

  it("builds the real DefaultAzureCredential when first asked", async () => {
    const { DefaultAzureCredential } = await import("@azure/identity");
    expect(await defaultAzureCredential(undefined)).toBeInstanceOf(DefaultAzureCredential);
    expect(await defaultAzureCredential("00000000-0000-0000-0000-000000000001")).toBeInstanceOf(DefaultAzureCredential);
  });
});
