import { SHARD_SEPARATOR } from "./physicalRows.js";

/** OData string literal: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function after(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/** Rows of one partition whose RowKey starts with `prefix` (RowKeys compare ordinally). */
export function rowKeyRangeFilter(partition: string, prefix: string): string {
  const inPartition = `PartitionKey eq ${odataString(partition)}`;
  if (prefix.length === 0) return inPartition;
  return `${inPartition} and RowKey ge ${odataString(prefix)} and RowKey lt ${odataString(after(prefix))}`;
}

/**
 * The rows of several logical counters (each `K` and its `K!<shard>` rows): one range per key.
 * Table Storage allows 15 comparisons per filter: the partition plus 7 ranges of 2.
 */
export const LOGICAL_KEYS_PER_FILTER = 7;

export function logicalRowsFilter(partition: string, logicalKeys: readonly string[]): string {
  const ranges = logicalKeys.map((key) => `(RowKey ge ${odataString(key)} and RowKey lt ${odataString(after(key + SHARD_SEPARATOR))})`);
  return `PartitionKey eq ${odataString(partition)} and (${ranges.join(" or ")})`;
}
