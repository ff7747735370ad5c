import { type TableClient, type TableEntityResult } from "@azure/data-tables";
import { type CounterValues } from "../../../core/limits/UsageCounterStore.js";
import { readCounterValues } from "./counterEntity.js";
import { LOGICAL_KEYS_PER_FILTER, logicalRowsFilter } from "./counterFilters.js";
import { addValues, logicalKeyOf } from "./physicalRows.js";

export interface CounterRowsRead {
  /** Physical rows by RowKey, with the ETag a write must match. */
  readonly rows: ReadonlyMap<string, { readonly values: CounterValues; readonly etag: string }>;
  /** Logical counters (main + shards) by key. */
  readonly logical: ReadonlyMap<string, CounterValues>;
}

/** Every row of the given logical counters, and their sums: one range query per 7 counters, in parallel. */
export async function readCounterRows(client: TableClient, partition: string, keys: readonly string[]): Promise<CounterRowsRead> {
  const chunks: string[][] = [];
  for (let index = 0; index < keys.length; index += LOGICAL_KEYS_PER_FILTER) chunks.push(keys.slice(index, index + LOGICAL_KEYS_PER_FILTER));
  const rows = new Map<string, { values: CounterValues; etag: string }>();
  const logical = new Map<string, Record<string, number>>();
  await Promise.all(
    chunks.map(async (chunk) => {
      const filter = logicalRowsFilter(partition, chunk);
      for await (const entity of client.listEntities<TableEntityResult<Record<string, unknown>>>({ queryOptions: { filter } })) {
        const rowKey = entity.rowKey ?? "";
        const values = readCounterValues(entity);
        rows.set(rowKey, { values, etag: entity.etag });
        const key = logicalKeyOf(rowKey);
        const sum = logical.get(key) ?? {};
        addValues(sum, values);
        logical.set(key, sum);
      }
    }),
  );
  return { rows, logical };
}
