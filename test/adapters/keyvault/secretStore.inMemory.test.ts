import { ManualClock } from "../../../src/core/clock.js";
import { describeSecretStoreContract } from "../../contracts/secretStore.contract.js";
import { InMemorySecretStore } from "../../fakes/InMemorySecretStore.js";

describeSecretStoreContract("InMemorySecretStore", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0, 250));
  return { store: new InMemorySecretStore(clock), nowInMs: () => clock.nowInMs() };
});
