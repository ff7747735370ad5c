import { describe, expect, it } from "vitest";
import { AZURE_LIST_PRICES_USD, costPerMillionRequests } from "../../bench/support/costModel.js";
import { tableOperationOf } from "../../bench/support/countingProxy.js";

describe("costPerMillionRequests", () => {
  it("prices each counted round trip at its service's list price", () => {
    const cost = costPerMillionRequests({
      instanceCpuMicrosPerRequest: 1_000,
      serialLatencyMs: 5,
      executionsPerRequest: 2,
      operationsPerRequest: { "servicebus.send": 1, "servicebus.receive": 1, "table.transaction": 0.5, "keyvault.keys.POST": 0.01, "keyvault.secrets.GET": 0.02, "keyvault.requests": 0.03 },
    });
    // 1 ms of a 2,048 MB instance, a million times.
    expect(cost.computeBusyUsd).toBeCloseTo(0.001 * AZURE_LIST_PRICES_USD.flexInstanceGb * AZURE_LIST_PRICES_USD.flexGbSecond * 1e6, 6);
    expect(cost.computeSerialUsd).toBeCloseTo(cost.computeBusyUsd * 5, 6);
    expect(cost.executionsUsd).toBeCloseTo(0.8, 6);
    expect(cost.serviceBusUsd).toBeCloseTo(2 * AZURE_LIST_PRICES_USD.serviceBusPerMillionOperations, 6);
    expect(cost.tableUsd).toBeCloseTo(50 * AZURE_LIST_PRICES_USD.tablePer10kTransactions, 6);
    // Signatures are advanced key operations; the raw request count is not billed twice.
    expect(cost.keyVaultUsd).toBeCloseTo(1 * AZURE_LIST_PRICES_USD.keyVaultPer10kAdvancedKeyOperations + 2 * AZURE_LIST_PRICES_USD.keyVaultPer10kOperations, 6);
    expect(cost.totalBusyUsd).toBeCloseTo(cost.computeBusyUsd + cost.executionsUsd + cost.serviceBusUsd + cost.tableUsd + cost.keyVaultUsd, 6);
  });
});

describe("tableOperationOf", () => {
  it.each([
    ["POST", "/devstoreaccount1/$batch", "", "table.transaction"],
    ["POST", "/devstoreaccount1/Tables", "", "table.createTable"],
    ["GET", "/devstoreaccount1/AuditChain(PartitionKey='a',RowKey='b')", "", "table.pointRead"],
    ["GET", "/devstoreaccount1/AuditChain()", "?$filter=PartitionKey%20eq%20'a'", "table.query"],
    ["POST", "/devstoreaccount1/AuditChain", "", "table.insert"],
    ["MERGE", "/devstoreaccount1/AuditChain(PartitionKey='a',RowKey='b')", "", "table.upsert"],
    ["DELETE", "/devstoreaccount1/AuditChain(PartitionKey='a',RowKey='b')", "", "table.delete"],
  ])("%s %s%s is a %s", (method, path, query, expected) => {
    expect(tableOperationOf(method, path, query)).toBe(expected);
  });
});
