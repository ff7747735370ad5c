import { ManualClock } from "../../../src/core/clock.js";
import { describeResponseCacheContract } from "../../contracts/responseCache.contract.js";
import { InMemoryResponseCache } from "../../fakes/InMemoryResponseCache.js";

describeResponseCacheContract("InMemoryResponseCache", async () => {
  const clock = new ManualClock();
  return { cache: new InMemoryResponseCache(clock), clock };
});
