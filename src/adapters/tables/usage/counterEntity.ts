import { type TableEntity } from "@azure/data-tables";
import { type CounterValues } from "../../../core/limits/UsageCounterStore.js";

const SYSTEM_PROPERTIES = new Set(["partitionKey", "rowKey", "etag", "timestamp", "odata.metadata"]);

/** Counter fields as Int64 (bigint in the SDK), so micro-dollar totals never lose precision as Int32 or Double would. */
export function toCounterEntity(partition: string, key: string, values: CounterValues): TableEntity {
  const fields: Record<string, bigint> = {};
  for (const [field, amount] of Object.entries(values)) fields[field] = BigInt(Math.trunc(amount));
  return { ...fields, partitionKey: partition, rowKey: key };
}

export function readCounterValues(entity: Readonly<Record<string, unknown>>): Record<string, number> {
  const values: Record<string, number> = {};
  for (const [field, value] of Object.entries(entity)) {
    if (SYSTEM_PROPERTIES.has(field)) continue;
    if (typeof value === "bigint") values[field] = Number(value);
    else if (typeof value === "number") values[field] = value;
  }
  return values;
}
