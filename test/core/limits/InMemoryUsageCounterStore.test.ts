import { describeUsageCounterStoreContract } from "../../contracts/usageCounterStore.contract.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";

// One process, one memory: every "instance" is the same store.
describeUsageCounterStoreContract("InMemoryUsageCounterStore", async (instanceCount) => {
  const store = new InMemoryUsageCounterStore();
  return { instances: Array.from({ length: instanceCount }, () => store), dispose: async () => undefined };
});
