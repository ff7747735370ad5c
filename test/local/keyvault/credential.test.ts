import { DefaultAzureCredential } from "@azure/identity";
import { describe, expect, it } from "vitest";
import { createCredential } from "../../../src/adapters/identity/createCredential.js";
import { LocalDevelopmentCredential } from "../../../src/adapters/identity/LocalDevelopmentCredential.js";

describe("createCredential", () => {
  it("gives the local stack a static development token", async () => {
    const credential = createCredential({ local: true, managedIdentityClientId: "ignored-locally" });
    expect(credential).toBeInstanceOf(LocalDevelopmentCredential);
    const token = await credential.getToken("https://vault.azure.net/.default");
    expect(token?.token).toBe(LocalDevelopmentCredential.TOKEN);
    expect(token?.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  it("uses DefaultAzureCredential in Azure, with or without a user-assigned identity", () => {
    expect(createCredential({})).toBeInstanceOf(DefaultAzureCredential);
    expect(createCredential({ managedIdentityClientId: "00000000-0000-0000-0000-000000000001" })).toBeInstanceOf(DefaultAzureCredential);
    expect(createCredential({ managedIdentityClientId: "  " })).toBeInstanceOf(DefaultAzureCredential);
  });
});
