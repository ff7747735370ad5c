import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/core/clock.js";
import { silentLogger } from "../../../src/core/logger.js";
import { countTextTokens, countWithUpperBoundUntilLoadedFor } from "../../../src/core/limits/estimatePromptTokens.js";
import { LimitGuard } from "../../../src/core/limits/LimitGuard.js";
import { loadedTokenEncodings } from "../../../src/core/limits/tokenEncodings.js";
import { InMemoryUsageCounterStore } from "../../fakes/InMemoryUsageCounterStore.js";
import { limitsPolicy, reserveInputFor } from "./policyFixture.js";

const START = Date.UTC(2026, 2, 10, 12, 0, 15);
/** 600 bytes of plain English: far fewer tokens than bytes. */
const PROMPT = "The gateway reserves tokens before the call and settles them after it. ".repeat(9).slice(0, 600);

// One file, one module instance: o200k_base is marked as loading and is loaded only by the guard's exact count.
describe("LimitGuard while the token encoding loads", () => {
  it("reserves at least the exact count, and refuses only on the exact count", async () => {
    countWithUpperBoundUntilLoadedFor(["gpt-4o"]);
    const policy = limitsPolicy({ limits: { tokensPerMinute: 1_000 } });
    const store = new InMemoryUsageCounterStore();
    const guard = new LimitGuard({ store, clock: new ManualClock(START), policy, logger: silentLogger });
    const input = reserveInputFor(policy);
    const estimatedPromptTokens = (): number => countTextTokens("gpt-4o", PROMPT);

    // Admitted on the upper bound (600 + 50 of 1,000): nothing is counted yet, so nothing loaded.
    const first = await guard.reserve(input({ estimatedPromptTokens }));
    expect(first.reservedTokens).toBe(600 + 50);
    expect(loadedTokenEncodings()).toEqual([]);

    // The bound (650 more) would go over; the exact count fits: admitted at its exact size.
    const exact = countO200k(PROMPT, { allowedSpecial: new Set(), disallowedSpecial: new Set() });
    expect(exact).toBeLessThan(150);
    const second = await guard.reserve(input({ estimatedPromptTokens }));
    expect(second.reservedTokens).toBe(exact + 50);
    expect(loadedTokenEncodings()).toEqual(["o200k_base"]);
    expect(second.headers["x-ratelimit-remaining-tokens"]).toBe(String(1_000 - 650 - exact - 50));
  });
});
