import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { ask, eventually, sleep } from "../support/drive.js";
import { type FaultStack, startFaultStack } from "../support/faultStack.js";

/**
 * Issue 22: the counter store unreachable (Table Storage refused by the fault proxy). A project whose
 * rate limits fail open is served, and its audit events say the limits were not enforced; one whose
 * limits fail closed gets 503 `limits_unavailable`. The whole app, through the openai SDK.
 */

let f: FaultStack;
beforeAll(async () => {
  f = await startFaultStack({
    extraProjects: [
      // 10 a minute: too few for a lease (5% rounds down to 0), so every request asks the store.
      { id: "rl-open", limits: { requestsPerMinute: 10 } },
      { id: "rl-closed", limits: { requestsPerMinute: 10, onStoreUnavailable: "fail_closed" } },
    ],
  });
}, 60_000);
afterAll(async () => {
  await f?.stop();
});

const eventsOf = (events: readonly AuditEvent[], requestId: string): AuditEvent[] => events.filter((event) => event.requestId === requestId);

describe("rate limits when the counter store is unreachable", () => {
  it("fail open: served, and both audit events of the request say its limits were not enforced; fail closed: 503 limits_unavailable", async () => {
    const openKey = await f.createKey("rl-open", "app");
    const closedKey = await f.createKey("rl-closed", "app");
    // Warm: keys known to the instance's cache, limits counted as usual. On a loaded machine a Table try
    // can time out before any fault is injected (a fast 503): asked again, as a client would.
    const warm = async (key: string, requestId: string): Promise<number> => {
      let status = 0;
      for (let attempt = 0; attempt < 10 && status !== 200; attempt++) {
        if (attempt > 0) await sleep(600);
        status = (await ask(f.baseUrl, key, `${requestId}-${attempt}`)).status;
      }
      return status;
    };
    expect(await warm(openKey, "counted-1")).toBe(200);
    expect(await warm(closedKey, "counted-2")).toBe(200);

    await f.table.setMode("refuse");
    let unenforced;
    let refused;
    try {
      await sleep(200);
      unenforced = await ask(f.baseUrl, openKey, "unenforced-1");
      refused = await ask(f.baseUrl, closedKey, "refused-1");
    } finally {
      await f.table.setMode("pass");
    }
    expect(unenforced.status).toBe(200);
    expect({ status: refused.status, code: refused.code, retryAfter: refused.retryAfter }).toEqual({ status: 503, code: "limits_unavailable", retryAfter: "1" });

    // The ledger (appended once Table Storage is back) says which admission went unchecked.
    let events: AuditEvent[] = [];
    const complete = await eventually(async () => {
      events = await f.chain("rl-open");
      return eventsOf(events, "unenforced-1").some((event) => event.type === "api_call") && events.some((event) => event.type === "api_call" && event.requestId?.startsWith("counted-1-") === true);
    }, 40_000);
    expect(complete).toBe(true);
    const unchecked = eventsOf(events, "unenforced-1");
    expect(unchecked.map((event) => [event.type, event.details?.["limitsEnforced"]]).sort()).toEqual([
      ["api_call", false],
      ["request_admitted", false],
    ]);
    const counted = events.filter((event) => event.requestId?.startsWith("counted-1-") === true && event.status === "success");
    expect(counted.length).toBeGreaterThan(0);
    for (const event of counted) expect(event.details?.["limitsEnforced"], event.type).toBeUndefined();

    const refusals = await eventually(async () => (await f.chain("rl-closed")).some((event) => event.requestId === "refused-1"), 40_000);
    expect(refusals).toBe(true);
    const refusal = (await f.chain("rl-closed")).find((event) => event.requestId === "refused-1");
    expect({ status: refusal?.status, httpStatus: refusal?.httpStatus, reason: refusal?.reason }).toEqual({ status: "error", httpStatus: 503, reason: "limits_unavailable" });
  }, 90_000);
});
