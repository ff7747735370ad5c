import { describe, expect, it } from "vitest";
import {
  escapeKeyPart,
  inMinuteWindow,
  inNextWindows,
  minuteOfKey,
  operationField,
  operationFieldsOf,
  projectPeriodKey,
  requestsKey,
  rollupKey,
  serviceAccountScope,
  tokensKey,
  unescapeKeyPart,
  windowOrder,
  withOperationFields,
} from "../../../src/core/limits/counterKeys.js";
import { nextWindows, windowsAt } from "../../../src/core/limits/windows.js";

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

describe("window order and the next window", () => {
  const lastMinuteOfMarch = windowsAt(Date.UTC(2026, 2, 31, 23, 59, 30));
  const firstOfApril = nextWindows(lastMinuteOfMarch);
  const day = projectPeriodKey("day", lastMinuteOfMarch);
  const month = projectPeriodKey("month", lastMinuteOfMarch);

  it("tells a minute, day or month counter's window over, current or not started; other keys are current", () => {
    const { minute } = lastMinuteOfMarch;
    expect([minute - 1, minute, minute + 1].map((at) => windowOrder(requestsKey(at, "p"), lastMinuteOfMarch))).toEqual([-1, 0, 1]);
    expect(windowOrder(day, lastMinuteOfMarch)).toBe(0);
    expect(windowOrder(day, firstOfApril)).toBe(-1);
    expect(windowOrder(projectPeriodKey("day", firstOfApril), lastMinuteOfMarch)).toBe(1);
    expect(windowOrder(rollupKey("month", firstOfApril, "model", "gpt-4o"), lastMinuteOfMarch)).toBe(1);
    expect(windowOrder(month, windowsAt(Date.UTC(2026, 2, 1)))).toBe(0);
    expect(windowOrder("H|owner|x", lastMinuteOfMarch)).toBe(0);
  });

  it("moves a counter to the window after its own when that window starts with the next minute, else null", () => {
    expect(firstOfApril).toEqual({ minute: lastMinuteOfMarch.minute + 1, day: "2026-04-01", month: "2026-04" });
    expect(inNextWindows(tokensKey(lastMinuteOfMarch.minute, "p"), lastMinuteOfMarch, firstOfApril)).toBe(tokensKey(firstOfApril.minute, "p"));
    expect(inNextWindows(day, lastMinuteOfMarch, firstOfApril)).toBe("R|d|2026-04-01|p");
    expect(inNextWindows(month, lastMinuteOfMarch, firstOfApril)).toBe("R|M|2026-04|p");
    // Mid-month: the day turns, the month does not. Mid-day: only minutes turn.
    const lastMinuteOfTenth = windowsAt(Date.UTC(2026, 2, 10, 23, 59));
    expect(inNextWindows(projectPeriodKey("day", lastMinuteOfTenth), lastMinuteOfTenth, nextWindows(lastMinuteOfTenth))).toBe("R|d|2026-03-11|p");
    expect(inNextWindows(projectPeriodKey("month", lastMinuteOfTenth), lastMinuteOfTenth, nextWindows(lastMinuteOfTenth))).toBeNull();
    const noon = windowsAt(Date.UTC(2026, 2, 10, 12, 0));
    expect(inNextWindows(projectPeriodKey("day", noon), noon, nextWindows(noon))).toBeNull();
    // The year turns with the last minute of December: the new year's rows order after the old one's.
    const lastMinuteOfYear = windowsAt(Date.UTC(2026, 11, 31, 23, 59));
    const newYear = nextWindows(lastMinuteOfYear);
    expect(inNextWindows(projectPeriodKey("month", lastMinuteOfYear), lastMinuteOfYear, newYear)).toBe("R|M|2027-01|p");
    expect(windowOrder(projectPeriodKey("day", newYear), lastMinuteOfYear)).toBe(1);
    expect(windowOrder(projectPeriodKey("month", lastMinuteOfYear), newYear)).toBe(-1);
    // A counter of another window than the current one has no successor to lease.
    expect(inNextWindows(requestsKey(lastMinuteOfMarch.minute - 1, "p"), lastMinuteOfMarch, firstOfApril)).toBeNull();
    expect(inNextWindows(projectPeriodKey("day", firstOfApril), lastMinuteOfMarch, firstOfApril)).toBeNull();
  });
});
