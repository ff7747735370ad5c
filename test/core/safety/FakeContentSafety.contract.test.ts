import { FakeContentSafety } from "../../fakes/FakeContentSafety.js";
import { describeContentSafetyContract } from "../../contracts/contentSafety.contract.js";

describeContentSafetyContract("in-memory fake", async () => {
  const safety = new FakeContentSafety();
  return {
    safety,
    addBlocklist: async (name, items) => void safety.blocklists.set(name, [...items]),
    breakService: async () => void (safety.unavailable = true),
    restoreService: async () => void (safety.unavailable = false),
  };
});
