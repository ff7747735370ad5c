import { describe, expect, it } from "vitest";
import { projectScope, requestsKey, serviceAccountScope, tokensKey } from "../../../src/core/limits/counterKeys.js";
import { minuteKeysFor } from "../../../src/core/limits/minuteKeysFor.js";

describe("minuteKeysFor", () => {
  it("gives the keys requestsKey and tokensKey build, and new ones when the minute changes (also back)", () => {
    for (const minute of [29_000_000, 29_000_000, 29_000_001, 29_000_000]) {
      for (const scope of [projectScope, serviceAccountScope("app"), serviceAccountScope("odd id/with|chars"), projectScope]) {
        expect(minuteKeysFor(minute, scope)).toEqual({ requests: requestsKey(minute, scope), tokens: tokensKey(minute, scope) });
      }
    }
  });

  it("still builds the right keys past the cache's bound", () => {
    for (let index = 0; index < 5_000; index += 1) minuteKeysFor(29_000_002, `sa:s${index}`);
    expect(minuteKeysFor(29_000_002, "sa:late")).toEqual({ requests: "L|m|29000002|req|sa:late", tokens: "L|m|29000002|tok|sa:late" });
    expect(serviceAccountScope("odd id")).toBe("sa:odd~20id");
  });
});
