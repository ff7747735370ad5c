import createContentSafetyClient, { isUnexpected } from "@azure-rest/ai-content-safety";
import { afterAll, beforeAll } from "vitest";
import { type RunningContentSafetyEmulator, startContentSafetyEmulator } from "../../../local/contentsafety/index.js";
import { AzureContentSafety } from "../../../src/adapters/contentsafety/AzureContentSafety.js";
import { describeContentSafetyContract } from "../../contracts/contentSafety.contract.js";

let emulator: RunningContentSafetyEmulator;

beforeAll(async () => {
  emulator = await startContentSafetyEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

describeContentSafetyContract("AzureContentSafety (real SDK) against the local emulator", async () => {
  const admin = createContentSafetyClient(emulator.endpoint, { key: emulator.key }, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
  return {
    safety: new AzureContentSafety({ endpoint: emulator.endpoint, key: emulator.key }),
    async addBlocklist(name, items) {
      const created = await admin.path("/text/blocklists/{blocklistName}", name).patch({ contentType: "application/merge-patch+json", body: { description: "contract" } });
      if (isUnexpected(created)) throw new Error(`blocklist not created: ${created.status}`);
      const added = await admin.path("/text/blocklists/{blocklistName}:addOrUpdateBlocklistItems", name).post({ body: { blocklistItems: items.map((text) => ({ text })) } });
      if (isUnexpected(added)) throw new Error(`items not added: ${added.status}`);
    },
    breakService: async () => emulator.setOutage({ status: 503 }),
    restoreService: async () => emulator.setOutage(null),
  };
});
