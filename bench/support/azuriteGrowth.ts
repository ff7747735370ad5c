import { AzureNamedKeyCredential, TableClient, type TransactionAction } from "@azure/data-tables";
import { DEVSTORE_ACCOUNT, DEVSTORE_KEY, startAzurite } from "../../local/azurite.js";

/** CPU (ms, this process: Azurite and the SDK) of a 100-row entity-group transaction into one partition, early and once it holds `rows`. */
export interface AzuriteGrowth {
  readonly rows: number;
  readonly transactionCpuMsEarly: number;
  readonly transactionCpuMsAtRows: number;
}

/**
 * How Azurite's cost per insert grows with its partition, as an audit chain (one partition) grows
 * under `npm start`: 100-row transactions into one partition of an in-process Azurite until it holds
 * `rows`, CPU of the first 5 and of the last 5 (local/azuriteEntityKeyIndex.ts keeps it flat;
 * PALISADE_AZURITE_KEY_INDEX=off shows it without).
 */
export async function measureAzuriteGrowth(rows: number): Promise<AzuriteGrowth> {
  const azurite = await startAzurite();
  try {
    const table = new TableClient(azurite.tableEndpoint, "growth", new AzureNamedKeyCredential(DEVSTORE_ACCOUNT, DEVSTORE_KEY), { allowInsecureConnection: true });
    await table.createTable();
    const transactions = Math.max(10, Math.ceil(rows / 100));
    const cpuMs: number[] = [];
    for (let round = 0; round < transactions; round++) {
      const actions = Array.from({ length: 100 }, (_, i): TransactionAction => ["create", { partitionKey: "chain", rowKey: String(round * 100 + i).padStart(12, "0"), entry: "x".repeat(400) }]);
      const before = process.cpuUsage();
      await table.submitTransaction(actions);
      const used = process.cpuUsage(before);
      cpuMs.push((used.user + used.system) / 1000);
    }
    const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
    return { rows: transactions * 100, transactionCpuMsEarly: mean(cpuMs.slice(0, 5)), transactionCpuMsAtRows: mean(cpuMs.slice(-5)) };
  } finally {
    await azurite.stop();
  }
}
