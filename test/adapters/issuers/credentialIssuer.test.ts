import { randomBytes } from "node:crypto";
import { startMockArm } from "../../../local/mockArm/index.js";
import { startMockOpenAiAdmin } from "../../../local/mockOpenAiAdmin/index.js";
import { AzureOpenAiKeyIssuer } from "../../../src/adapters/issuers/AzureOpenAiKeyIssuer.js";
import { OpenAiAdminClient } from "../../../src/adapters/issuers/OpenAiAdminClient.js";
import { OpenAiServiceAccountKeyIssuer } from "../../../src/adapters/issuers/OpenAiServiceAccountKeyIssuer.js";
import { PalisadeApiKeyIssuer } from "../../../src/adapters/issuers/PalisadeApiKeyIssuer.js";
import { createCredential } from "../../../src/adapters/identity/createCredential.js";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { ManualClock } from "../../../src/core/clock.js";
import { describeCredentialIssuerContract } from "../../contracts/credentialIssuer.contract.js";
import { credentialFixture } from "../../core/rotation/rotationFixture.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { InMemoryCredentialIssuer } from "../../fakes/InMemoryCredentialIssuer.js";

describeCredentialIssuerContract("InMemoryCredentialIssuer", async () => ({ issuer: new InMemoryCredentialIssuer(), credential: credentialFixture(), slotted: false }));

describeCredentialIssuerContract("InMemoryCredentialIssuer with slots", async () => ({
  issuer: new InMemoryCredentialIssuer({ kind: "azure-openai", slots: ["Key1", "Key2"] }),
  credential: credentialFixture({ issuer: "azure-openai" }),
  slotted: true,
}));

describeCredentialIssuerContract("AzureOpenAiKeyIssuer on the mock ARM", async () => {
  const arm = await startMockArm();
  const account = arm.addAccount({ subscription: "sub-1", resourceGroup: "rg-ai", name: "aoai-weu", deployments: ["gpt-4o"] });
  const issuer = new AzureOpenAiKeyIssuer({ credential: createCredential({ local: true }), armBaseUrl: arm.url, verifyAttempts: 1 });
  return {
    issuer,
    credential: credentialFixture({ issuer: "azure-openai", target: account.resourceId, deployment: "gpt-4o" }),
    slotted: true,
    stop: () => arm.stop(),
  };
});

describeCredentialIssuerContract("OpenAiServiceAccountKeyIssuer on the mock Admin API", async () => {
  const api = await startMockOpenAiAdmin();
  const projectId = api.addProject("gateway");
  const admin = new OpenAiAdminClient({ baseUrl: api.url, adminKey: async () => api.adminKey });
  return {
    issuer: new OpenAiServiceAccountKeyIssuer({ admin }),
    credential: credentialFixture({ issuer: "openai", target: `${projectId}/gateway` }),
    slotted: false,
    stop: () => api.stop(),
  };
});

describeCredentialIssuerContract("PalisadeApiKeyIssuer on ApiKeyService", async () => {
  const clock = new ManualClock(Date.now());
  const service = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock, random: (n) => new Uint8Array(randomBytes(n)), cacheTtlInMs: 30_000 });
  return { issuer: new PalisadeApiKeyIssuer(service, clock), credential: credentialFixture({ issuer: "palisade", target: "billing-app" }), slotted: false };
});
