import { createHash } from "node:crypto";

/**
 * Keys of the `StoredResponseOwners` table. An owner row: RowKey the SHA-256 (hex) of the Response id,
 * PartitionKey its first two hex digits (256 partitions). Beside it, in the same partition, its expiry
 * row: RowKey `x:<UTC hour it expires in>:<owner RowKey>`. Both are written (and deleted) in one entity
 * group transaction, and expiry rows sort after every owner row (`x` follows the hex digits) and by
 * hour, so a purge reads, per partition, only the key range of the hours that ended.
 */

export interface OwnerRowKeys {
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** The 256 partitions, `00` to `ff`. */
export const OWNER_PARTITIONS: readonly string[] = Array.from({ length: 256 }, (_, index) => index.toString(16).padStart(2, "0"));

export function ownerKeysOf(responseId: string): OwnerRowKeys {
  const rowKey = createHash("sha256").update(responseId, "utf8").digest("hex");
  return { partitionKey: rowKey.slice(0, 2), rowKey };
}

/** The first RowKey an expiry row may have: every owner RowKey (hex) sorts before it. */
export const EXPIRY_ROWS_FROM = "x:";

/** `2026-12-07T15`: the UTC hour of `timeInMs`, sortable as text. */
const hourOf = (timeInMs: number): string => new Date(timeInMs).toISOString().slice(0, 13);

export function expiryRowKeyOf(ownerRowKey: string, expiresAtInMs: number): string {
  return `${EXPIRY_ROWS_FROM}${hourOf(expiresAtInMs)}:${ownerRowKey}`;
}

/** The RowKey past every expiry row of the hours up to and including the one of `nowInMs` (`;` follows `:`). */
export function expiryRowsBefore(nowInMs: number): string {
  return `${EXPIRY_ROWS_FROM}${hourOf(nowInMs)};`;
}

export function ownerRowKeyOfExpiryRow(expiryRowKey: string): string {
  return expiryRowKey.slice(expiryRowKey.lastIndexOf(":") + 1);
}
