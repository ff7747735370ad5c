import { type TableClient, TableTransaction, odata } from "@azure/data-tables";
import { randomInt } from "node:crypto";
import { statusCodeOf } from "../../azure/azureErrors.js";
import { EXPIRY_ROWS_FROM, OWNER_PARTITIONS, expiryRowsBefore, ownerRowKeyOfExpiryRow } from "./ownerRowKeys.js";

/** Partitions read at once. */
const PARTITIONS_AT_ONCE = 16;
/** An owner row and its expiry row per pair; a transaction holds at most 100 operations. */
const PAIRS_PER_TRANSACTION = 50;
const PAGE_SIZE = 1_000;

/**
 * Deletes at most `maxRows` expired owner rows with their expiry rows, found by key: per partition,
 * the expiry rows of the hours up to now's (those of now's own hour filtered by `expiresAt`). What it
 * reads is what expired (plus at most an hour's expiry rows), whatever the number of live rows. A
 * run starts at a random partition, so a backlog larger than one run is worked off evenly.
 */
export async function purgeExpiredOwnerRows(table: TableClient, nowInMs: number, maxRows: number): Promise<number> {
  const first = randomInt(OWNER_PARTITIONS.length);
  let deleted = 0;
  for (let at = 0; at < OWNER_PARTITIONS.length && deleted < maxRows; at += PARTITIONS_AT_ONCE) {
    const partitions = Array.from({ length: Math.min(PARTITIONS_AT_ONCE, OWNER_PARTITIONS.length - at) }, (_, index) => OWNER_PARTITIONS[(first + at + index) % OWNER_PARTITIONS.length] ?? "");
    let left = maxRows - deleted;
    const found = await Promise.all(partitions.map((partition) => expiredRowKeys(table, partition, nowInMs, left)));
    const deletions = found.map((rowKeys, index) => {
      const taken = rowKeys.slice(0, left);
      left -= taken.length;
      return deletePairs(table, partitions[index] ?? "", taken);
    });
    for (const count of await Promise.all(deletions)) deleted += count;
  }
  return deleted;
}

async function expiredRowKeys(table: TableClient, partition: string, nowInMs: number, atMost: number): Promise<string[]> {
  if (atMost <= 0) return [];
  const filter = odata`PartitionKey eq ${partition} and RowKey ge ${EXPIRY_ROWS_FROM} and RowKey lt ${expiryRowsBefore(nowInMs)} and expiresAt le ${new Date(nowInMs)}`;
  const rowKeys: string[] = [];
  for await (const page of table.listEntities({ queryOptions: { filter, select: ["RowKey"] } }).byPage({ maxPageSize: Math.min(PAGE_SIZE, atMost) })) {
    for (const row of page) rowKeys.push(row.rowKey ?? "");
    if (rowKeys.length >= atMost) break;
  }
  return rowKeys;
}

/** Deletes each expiry row with its owner row; resolves how many pairs. */
async function deletePairs(table: TableClient, partition: string, expiryRowKeys: readonly string[]): Promise<number> {
  for (let at = 0; at < expiryRowKeys.length; at += PAIRS_PER_TRANSACTION) {
    await deleteRows(
      table,
      partition,
      expiryRowKeys.slice(at, at + PAIRS_PER_TRANSACTION).flatMap((rowKey) => [ownerRowKeyOfExpiryRow(rowKey), rowKey]),
    );
  }
  return expiryRowKeys.length;
}

/**
 * Deletes rows of one partition in one transaction (at most 100). When one is gone already (forgotten
 * meanwhile) the transaction fails whole: then one by one, in the order given (an owner row before its
 * expiry row, so a crash between leaves at worst an expiry row, which a purge deletes).
 */
export async function deleteRows(table: TableClient, partition: string, rowKeys: readonly string[]): Promise<void> {
  const transaction = new TableTransaction();
  for (const rowKey of rowKeys) transaction.deleteEntity(partition, rowKey);
  try {
    await table.submitTransaction(transaction.actions);
  } catch (error) {
    if (statusCodeOf(error) !== 404) throw error;
    for (const rowKey of rowKeys) await deleteRow(table, partition, rowKey);
  }
}

/** Deletes one row; a row already gone is fine. */
export async function deleteRow(table: TableClient, partitionKey: string, rowKey: string, etag?: string): Promise<void> {
  try {
    await table.deleteEntity(partitionKey, rowKey, etag === undefined ? undefined : { etag });
  } catch (error) {
    if (statusCodeOf(error) !== 404) throw error;
  }
}
