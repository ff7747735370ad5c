import { describe, expect, it } from "vitest";
import { ResponseHistoryTokens } from "../../../../src/core/gateway/operations/responses/ResponseHistoryTokens.js";

const usage = (promptTokens: number, completionTokens: number) => ({ promptTokens, cachedPromptTokens: 0, completionTokens });

describe("ResponseHistoryTokens", () => {
  it("counts a served Response's input and output for whoever continues it; nothing for an unknown one", () => {
    const history = new ResponseHistoryTokens();
    history.remember({ id: "resp_1" }, usage(700, 200));
    expect(history.tokensOf("resp_1")).toBe(900);
    expect(history.tokensOf("resp_elsewhere")).toBe(0);
    expect(history.tokensOf(null)).toBe(0);
    // A Response served without usage, or without an id, is not remembered.
    history.remember({ id: "resp_2" }, null);
    history.remember({}, usage(5, 5));
    expect(history.tokensOf("resp_2")).toBe(0);
  });

  it("keeps at most 4,096 Responses, the least recently used going first", () => {
    const history = new ResponseHistoryTokens();
    history.remember({ id: "resp_first" }, usage(10, 1));
    history.remember({ id: "resp_used" }, usage(20, 2));
    for (let index = 0; index < 4_094; index += 1) {
      history.remember({ id: `resp_${index}` }, usage(1, 0));
      // Used again while the others come: it stays.
      if (index === 0) expect(history.tokensOf("resp_used")).toBe(22);
    }
    // Two more: the two least recently used go (the first, and the oldest of the loop), not the one used again.
    history.remember({ id: "resp_next" }, usage(1, 0));
    history.remember({ id: "resp_last" }, usage(1, 0));
    expect(history.tokensOf("resp_first")).toBe(0);
    expect(history.tokensOf("resp_0")).toBe(0);
    expect(history.tokensOf("resp_used")).toBe(22);
    expect(history.tokensOf("resp_last")).toBe(1);
  });
});
