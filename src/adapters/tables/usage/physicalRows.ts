import { type CounterValues } from "../../../core/limits/UsageCounterStore.js";

/**
 * A logical counter K is stored as up to 1 + N rows: `K` (the "main" row, written only by calls
 * that check a limit) and `K!<shard>` (written by an instance's unlimited changes: settlements,
 * releases, rollups). Its value is the field-wise sum of all of them. `!` never occurs in a
 * logical key, and sorts below every character a key uses, so a logical key's rows are contiguous.
 */

export const SHARD_SEPARATOR = "!";

export const shardRowKey = (logicalKey: string, shard: number): string => `${logicalKey}${SHARD_SEPARATOR}${shard}`;

export function logicalKeyOf(rowKey: string): string {
  const at = rowKey.indexOf(SHARD_SEPARATOR);
  return at < 0 ? rowKey : rowKey.slice(0, at);
}

export function addValues(target: Record<string, number>, values: CounterValues): void {
  for (const [field, amount] of Object.entries(values)) target[field] = (target[field] ?? 0) + amount;
}
