import { type TableClient, TableTransaction } from "@azure/data-tables";
import { statusCodeOf } from "../../azure/azureErrors.js";
import { expiryRowKeyOf } from "./ownerRowKeys.js";
import { deleteRow } from "./purgeExpiredOwnerRows.js";

/** Where the sweep keeps its place: a partition of its own, outside the 256 hex ones. */
export const SWEEP_STATE_KEYS = { partitionKey: "~sweep", rowKey: "legacy-owner-rows" } as const;

/** Owner rows only: hex partitions (before `g`), hex RowKeys (before the expiry rows' `x`). */
const OWNER_ROWS_FILTER = "PartitionKey lt 'g' and RowKey lt 'x'";
const PAGE_SIZE = 1_000;

interface SweepState {
  /** Where this pass goes on; absent at the start of a pass. */
  continuation?: string;
  /** Rows without an expiry row found so far in this pass. */
  legacyInPass: number;
  /** A whole pass found none: nothing more to sweep. */
  done: boolean;
}

export interface LegacyOwnerRow {
  readonly expiresAt?: Date;
  readonly timestamp?: string;
}

export interface SweepLegacyOwnerRowsOptions {
  /** Rows read this run, at most (rounded up to a page). */
  readonly maxRowsRead: number;
  /** Expired rows deleted this run, at most (the others wait for the next pass). */
  readonly maxDeletes: number;
  readonly isExpired: (row: LegacyOwnerRow) => boolean;
  /** When a live legacy row expires (its `expiresAt`, or the retention after its Timestamp). */
  readonly expiresAtOf: (row: LegacyOwnerRow) => number;
}

/**
 * Rows written before owner rows had expiry rows (session 12 and 13 builds: no `indexed`) are found by
 * a scan of the table, in bounded runs that go on where the last one stopped: an expired one is
 * deleted, a live one gets its expiry row (and its `expiresAt`, which a session 12 row lacked) in one
 * transaction, so the purge by key finds it later. A pass that found none ends the sweep for good;
 * until then passes repeat, which catches rows an old instance wrote behind the scan during a
 * deployment. Resolves how many rows it deleted.
 */
export async function sweepLegacyOwnerRows(table: TableClient, options: SweepLegacyOwnerRowsOptions): Promise<number> {
  const { state, etag } = await readState(table);
  if (state.done || options.maxRowsRead <= 0) return 0;
  let read = 0;
  let deleted = 0;
  let legacy = state.legacyInPass;
  let continuation: string | undefined;
  const pages = table.listEntities<LegacyOwnerRow & { indexed?: boolean }>({ queryOptions: { filter: OWNER_ROWS_FILTER, select: ["PartitionKey", "RowKey", "expiresAt", "Timestamp", "indexed"] } });
  for await (const page of pages.byPage({ maxPageSize: Math.min(PAGE_SIZE, options.maxRowsRead), ...(state.continuation === undefined ? {} : { continuationToken: state.continuation }) })) {
    for (const row of page) {
      if (row.indexed === true || row.partitionKey === undefined || row.rowKey === undefined) continue;
      legacy += 1;
      const keys = { partitionKey: row.partitionKey, rowKey: row.rowKey, etag: row.etag };
      if (!options.isExpired(row)) await addExpiryRow(table, keys, options.expiresAtOf(row));
      else if (deleted < options.maxDeletes) {
        await deleteRow(table, keys.partitionKey, keys.rowKey, keys.etag);
        deleted += 1;
      }
    }
    read += page.length;
    continuation = page.continuationToken;
    if (continuation === undefined || read >= options.maxRowsRead) break;
  }
  const next: SweepState = continuation !== undefined ? { continuation, legacyInPass: legacy, done: false } : { legacyInPass: 0, done: legacy === 0 };
  await writeState(table, next, etag);
  return deleted;
}

/** Marks a live legacy row and writes its expiry row, together; a row changed meanwhile is left to the next pass. */
async function addExpiryRow(table: TableClient, row: { partitionKey: string; rowKey: string; etag: string }, expiresAtInMs: number): Promise<void> {
  const expiresAt = new Date(expiresAtInMs);
  const transaction = new TableTransaction();
  transaction.updateEntity({ partitionKey: row.partitionKey, rowKey: row.rowKey, expiresAt, indexed: true }, "Merge", { etag: row.etag });
  transaction.createEntity({ partitionKey: row.partitionKey, rowKey: expiryRowKeyOf(row.rowKey, expiresAtInMs), expiresAt });
  try {
    await table.submitTransaction(transaction.actions);
  } catch (error) {
    const status = statusCodeOf(error);
    // Forgotten or changed meanwhile (404, 412): the next pass sees it again. An expiry row already there (409): only mark the row.
    if (status === 409) await table.updateEntity({ partitionKey: row.partitionKey, rowKey: row.rowKey, expiresAt, indexed: true }, "Merge", { etag: row.etag }).catch(ignoringStatus(404, 412));
    else if (status !== 404 && status !== 412) throw error;
  }
}

async function readState(table: TableClient): Promise<{ state: SweepState; etag?: string }> {
  try {
    const row = await table.getEntity<{ continuation?: string; legacyInPass?: number; done?: boolean }>(SWEEP_STATE_KEYS.partitionKey, SWEEP_STATE_KEYS.rowKey);
    return {
      state: { ...(typeof row.continuation === "string" && row.continuation !== "" ? { continuation: row.continuation } : {}), legacyInPass: typeof row.legacyInPass === "number" ? row.legacyInPass : 0, done: row.done === true },
      etag: row.etag,
    };
  } catch (error) {
    if (statusCodeOf(error) === 404) return { state: { legacyInPass: 0, done: false } };
    throw error;
  }
}

/** Saves the place; another run that saved first (412, 409) wins, and this run's rows are seen again at worst. */
async function writeState(table: TableClient, state: SweepState, etag: string | undefined): Promise<void> {
  const row = { ...SWEEP_STATE_KEYS, legacyInPass: state.legacyInPass, done: state.done, continuation: state.continuation ?? "" };
  const saving = etag === undefined ? table.createEntity(row) : table.updateEntity(row, "Replace", { etag });
  await saving.catch(ignoringStatus(409, 412));
}

const ignoringStatus =
  (...statuses: number[]) =>
  (error: unknown): void => {
    if (!statuses.includes(statusCodeOf(error) ?? 0)) throw error;
  };
