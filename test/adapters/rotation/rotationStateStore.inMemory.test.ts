import { ManualClock } from "../../../src/core/clock.js";
import { describeRotationStateStoreContract } from "../../contracts/rotationStateStore.contract.js";
import { InMemoryRotationStateStore } from "../../fakes/InMemoryRotationStateStore.js";

describeRotationStateStoreContract("InMemoryRotationStateStore", async () => {
  const serverClock = new ManualClock(Date.UTC(2026, 0, 1));
  return { store: new InMemoryRotationStateStore(serverClock), serverNowInMs: () => serverClock.nowInMs() };
});
