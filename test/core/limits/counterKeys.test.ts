import { describe, expect, it } from "vitest";
import {
  escapeKeyPart,
  inMinuteWindow,
  minuteOfKey,
  operationField,
  operationFieldsOf,
  projectPeriodKey,
  requestsKey,
  serviceAccountScope,
  tokensKey,
  unescapeKeyPart,
  withOperationFields,
} from "../../../src/core/limits/counterKeys.js";

describe("counter key parts", () => {
  it("keeps a safe id as it is and escapes everything else as UTF-8 hex, both ways", () => {
    expect(escapeKeyPart("bench-app_2.v1:x=y")).toBe("bench-app_2.v1:x=y");
    expect(escapeKeyPart("")).toBe("");
    expect(escapeKeyPart("a/b|c#d?e%f é")).toBe("a~2Fb~7Cc~23d~3Fe~25f~20~C3~A9");
    expect(escapeKeyPart("line\nbreak")).toBe("line~0Abreak");
    for (const value of ["bench-app", "a/b|c#d?e%f é", "😀 \\ ~"]) expect(unescapeKeyPart(escapeKeyPart(value))).toBe(value);
  });
});

describe("operation fields", () => {
  it("adds each measure under its operation's field, beside the totals, for every operation and call", () => {
    const measures = { usd: 12, requests: 1, inputTokens: 90 };
    for (let call = 0; call < 2; call += 1) {
      expect(withOperationFields("embeddings", measures)).toEqual({ ...measures, op_embeddings_usd: 12, op_embeddings_requests: 1, op_embeddings_inputTokens: 90 });
      expect(withOperationFields("chat", { usd: 3 })).toEqual({ usd: 3, [operationField("chat", "usd")]: 3 });
    }
    expect(operationFieldsOf(withOperationFields("responses", measures)).get("responses")).toEqual(measures);
  });
});

describe("minute window keys", () => {
  it("reads a per-minute key's window and moves the same counter to another window; other keys have none", () => {
    const scope = serviceAccountScope("a|b");
    expect(minuteOfKey(requestsKey(29_563_200, scope))).toBe(29_563_200);
    expect(inMinuteWindow(tokensKey(29_563_200, scope), 29_563_201)).toBe(tokensKey(29_563_201, scope));
    expect(inMinuteWindow(requestsKey(7, "p"), 8)).toBe(requestsKey(8, "p"));
    const day = projectPeriodKey("day", { day: "2026-12-07", month: "2026-12" });
    expect(minuteOfKey(day)).toBeNull();
    expect(inMinuteWindow(day, 8)).toBe(day);
    expect(minuteOfKey("L|m|x|req|p")).toBeNull();
    expect(minuteOfKey("L|m|12")).toBeNull();
  });
});
