import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../../local/azurite.js";
import { tableDependencyPolicy } from "../../../src/adapters/tables/tableDependencyPolicy.js";
import { type LogFields, type Logger } from "../../../src/core/logger.js";
import { CircuitBreaker } from "../../../src/core/resilience/CircuitBreaker.js";
import { type FaultProxy, startFaultProxy } from "../../support/faultProxy.js";

let azurite: RunningAzurite;
let proxy: FaultProxy;
beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startFaultProxy({ port: Number(new URL(azurite.tableEndpoint).port) });
}, 30_000);
afterAll(async () => {
  await proxy?.stop();
  await azurite?.stop();
});

function client(): { table: TableClient; breaker: CircuitBreaker; lines: { message: string; fields?: LogFields }[] } {
  const lines: { message: string; fields?: LogFields }[] = [];
  const record = (message: string, fields?: LogFields): void => void lines.push({ message, ...(fields ? { fields } : {}) });
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  const breaker = new CircuitBreaker({ nowInMs: () => Date.now() }, { openForInMs: 200 });
  const connectionString = azurite.connectionString.replace(/TableEndpoint=http:\/\/127\.0\.0\.1:\d+/, `TableEndpoint=http://127.0.0.1:${proxy.port}`);
  const table = TableClient.fromConnectionString(connectionString, `dep${Date.now()}`, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 100 },
    additionalPolicies: [{ policy: tableDependencyPolicy({ breaker, logger, tryTimeoutInMs: 500 }), position: "perCall" }],
  });
  return { table, breaker, lines };
}

describe("tableDependencyPolicy: Table Storage down is a 503 naming the dependency, never a 500 or a stall", () => {
  it("refused: dependency_unavailable with retry-after, logged once with the dependency; then fast while open; a 404 after the outage closes the breaker", async () => {
    const { table, breaker, lines } = client();
    await table.createTable();
    await proxy.setMode("refuse");
    try {
      await expect(table.getEntity("p", "r")).rejects.toMatchObject({ status: 503, code: "dependency_unavailable", headers: { "retry-after": "5" } });
      expect(lines).toEqual([{ message: "dependency.unavailable", fields: { dependency: "table-storage", error: "ECONNREFUSED", breaker: "open" } }]);
      const started = performance.now();
      await expect(table.getEntity("p", "r")).rejects.toMatchObject({ code: "dependency_unavailable" });
      expect(performance.now() - started).toBeLessThan(50);
    } finally {
      await proxy.setMode("pass");
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    // The probe gets a 404 (thrown by the SDK): the service answered, so the breaker closes.
    await expect(table.getEntity("p", "r")).rejects.toMatchObject({ statusCode: 404 });
    expect(breaker.state).toBe("closed");
  });

  it("black-holed: each try is cut at its timeout, so a call ends within (retries + 1) × timeout", async () => {
    const { table } = client();
    await table.createTable();
    await proxy.setMode("blackhole");
    try {
      const started = performance.now();
      await expect(table.getEntity("p", "r")).rejects.toMatchObject({ status: 503, code: "dependency_unavailable" });
      expect(performance.now() - started).toBeLessThan(2_500);
    } finally {
      await proxy.setMode("pass");
    }
  });
});
