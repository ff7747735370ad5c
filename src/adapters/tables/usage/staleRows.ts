import { type TableClient, type TableEntity, TableTransaction } from "@azure/data-tables";
import { statusCodeOf } from "../../azure/azureErrors.js";
import { rowKeyRangeFilter } from "./counterFilters.js";

/**
 * Rows of the counter store nobody reads again, which Table Storage (no TTL) would keep forever:
 * finished minute windows, and the marks of writers that stopped writing (one or two per process
 * start and project, docs/limits.md "Writes whose answer is lost").
 */

/** Rows per delete transaction (a transaction holds at most 100 operations). */
const DELETES_PER_TRANSACTION = 100;

/** Deletes a partition's per-minute rows older than `beforeMinute` (floor(epochMs / 60 000)); returns how many. */
export async function pruneMinuteWindows(client: TableClient, partition: string, beforeMinute: number, abortSignal?: AbortSignal): Promise<number> {
  const stale: string[] = [];
  const filter = rowKeyRangeFilter(partition, "L|m|");
  for await (const entity of client.listEntities<TableEntity>({ queryOptions: { filter, select: ["RowKey"] }, abortSignal })) {
    const minute = Number(entity.rowKey.split("|")[2]);
    if (Number.isInteger(minute) && minute < beforeMinute) stale.push(entity.rowKey);
  }
  for (let index = 0; index < stale.length; index += DELETES_PER_TRANSACTION) {
    const slice = stale.slice(index, index + DELETES_PER_TRANSACTION);
    const transaction = new TableTransaction();
    for (const rowKey of slice) transaction.deleteEntity(partition, rowKey);
    try {
      await client.submitTransaction(transaction.actions);
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
      // One row vanished meanwhile (another pruner): fall back to one by one.
      for (const rowKey of slice) await client.deleteEntity(partition, rowKey).catch(ignoring(404));
    }
  }
  return stale.length;
}

/**
 * Deletes the marks (`markPrefix` range) last written before `writtenBeforeMs` (the service's own
 * Timestamp), except `ownPrefix`'s (this writer's, live by definition). A mark is read only
 * within seconds of its writer's last transaction, so one untouched for far longer than any answer
 * can be lost for has no reader left. Each delete is conditional on the ETag listed: a mark its
 * writer rewrote meanwhile (alive after all, and perhaps in doubt about that very write) stays.
 */
export async function pruneWriterMarks(
  client: TableClient,
  partition: string,
  marks: { readonly markPrefix: string; readonly ownPrefix: string; readonly writtenBeforeMs: number },
  abortSignal?: AbortSignal,
): Promise<number> {
  const stale: { rowKey: string; etag: string }[] = [];
  const filter = rowKeyRangeFilter(partition, marks.markPrefix);
  for await (const entity of client.listEntities<TableEntity>({ queryOptions: { filter, select: ["RowKey", "Timestamp"] }, abortSignal })) {
    const written = Date.parse(String(entity.timestamp ?? ""));
    if (entity.rowKey.startsWith(marks.ownPrefix) || !Number.isFinite(written) || written >= marks.writtenBeforeMs) continue;
    stale.push({ rowKey: entity.rowKey, etag: entity.etag });
  }
  let deleted = 0;
  for (const { rowKey, etag } of stale) {
    // 412: rewritten since it was listed; 404: another pruner was first.
    const done = await client.deleteEntity(partition, rowKey, { etag }).then(() => true, ignoring(404, 412));
    if (done === true) deleted += 1;
  }
  return deleted;
}

const ignoring =
  (...statuses: number[]) =>
  (error: unknown): false => {
    if (!statuses.includes(statusCodeOf(error) ?? 0)) throw error;
    return false;
  };
