import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../local/azurite.js";
import { TableUsageCounterStore } from "../../src/adapters/tables/TableUsageCounterStore.js";
import { type CounterDelta } from "../../src/core/limits/UsageCounterStore.js";
import { type ChaosProxy, startChaosProxy } from "../support/chaosProxy.js";

let azurite: RunningAzurite;
let proxy: ChaosProxy;
let tables = 0;
let tablePort = 0;
beforeAll(async () => {
  azurite = await startAzurite();
  tablePort = Number(new URL(azurite.tableEndpoint).port);
  proxy = await startChaosProxy({ port: tablePort }, { latencyInMs: 0, stallRate: 0, stallInMs: 0, resetRate: 0, seed: 1 });
});
afterAll(async () => {
  await proxy?.stop();
  await azurite?.stop();
});

const KEY = "L|m|100|req|p";
const LIMIT = { fields: ["requests"], max: 10 };
const reserve: CounterDelta = { key: KEY, add: { requests: 1 }, limit: LIMIT };

/** `sdkRetries`: the SDK's own retry of a try whose answer was lost (1, as the app sets it) or none. */
async function stores(sdkRetries = 1) {
  const table = `CounterLanded${++tables}`;
  const direct = new TableUsageCounterStore(TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true }));
  await direct.createTable();
  const viaProxy = azurite.connectionString.replace(`:${tablePort}/`, `:${proxy.port}/`);
  const faulty = new TableUsageCounterStore(TableClient.fromConnectionString(viaProxy, table, { allowInsecureConnection: true, retryOptions: { maxRetries: sdkRetries, retryDelayInMs: 20 } }));
  const value = async (): Promise<number> => {
    for await (const row of direct.list("p", KEY)) if (row.key === KEY) return row.values["requests"] ?? 0;
    return 0;
  };
  return { direct, faulty, value };
}

/**
 * Issue 22, "no limit exceeded": one answer lost on the way back (a reset after Table Storage committed
 * the transaction) made the store apply a write twice: the SDK's retry got a 412/409 (the rows had
 * changed: by the write itself) and the round was read and applied again, or the caller wrote it again.
 * A release applied twice gave back twice the request slots, and the window admitted that many more
 * than its limit. The store now writes a mark with every transaction and reads it when an answer is lost.
 */
describe("a counter write whose answer is lost after it landed", () => {
  it.each([
    ["the SDK retries the lost try (the app's setting)", 1],
    ["the SDK does not retry: the failure reaches the store", 0],
  ])("a release (request slots given back) is counted once, so the limit admits no more than it gave back: %s", async (_name, sdkRetries) => {
    const { direct, faulty, value } = await stores(sdkRetries);
    for (let index = 0; index < 10; index++) expect((await direct.apply("p", [reserve])).applied).toBe(true);
    proxy.loseNextAnswers(1, "HTTP/1.1 202");
    // As the settlement writer does: a write that failed stays pending and is written again.
    const release: CounterDelta = { key: KEY, add: { requests: -5 } };
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        await faulty.apply("p", [release]);
        break;
      } catch {
        if (attempts > 3) throw new Error("never written");
      }
    }
    expect(await value()).toBe(5);
    let admitted = 0;
    for (let index = 0; index < 12; index++) if ((await direct.apply("p", [reserve])).applied) admitted++;
    expect(admitted).toBe(5);
  }, 20_000);

  it("a reservation is counted once, and its caller told it was admitted", async () => {
    const { faulty, value } = await stores();
    proxy.loseNextAnswers(1, "HTTP/1.1 202");
    const result = await faulty.apply("p", [reserve]);
    expect(result).toEqual({ applied: true, counters: { [KEY]: { requests: 1 } } });
    expect(await value()).toBe(1);
    expect(faulty.landedUnanswered).toBe(1);
  }, 20_000);
});
