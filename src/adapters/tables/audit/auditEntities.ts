import { type TableEntity } from "@azure/data-tables";
import { type ChainHead } from "../../../core/audit/AuditLedger.js";
import { type StoredEntry } from "../../../core/audit/ChainEntry.js";

/**
 * Rows of table `AuditLog`, all in the chain's partition (PartitionKey = chain id), so one
 * entity-group transaction covers an append:
 *   RowKey = 12-digit sequence  -> an entry (canonical bytes + queryable copies of its fields)
 *   RowKey = "dedupe_<eventId>" -> the event was appended, at `sequence`
 *   RowKey = "head"             -> size and last hash
 * Entry and dedupe keys never collide with "head" (digits vs letters).
 */
export const AUDIT_LOG_TABLE = "AuditLog";
export const HEAD_ROW_KEY = "head";
const DEDUPE_PREFIX = "dedupe_";
/** One past '9': every row key starting with a digit sorts below it. */
export const ENTRY_ROW_KEY_END = ":";

/** Event ids may carry characters Table keys forbid (/ \ # ?); percent-encode them. */
export const dedupeRowKey = (eventId: string): string => DEDUPE_PREFIX + encodeURIComponent(eventId);

// A type alias (not an interface) so it is assignable to Record<string, unknown>.
export type EntryEntity = {
  partitionKey: string;
  rowKey: string;
  canonical: string;
  hash: string;
  prevHash: string;
  eventId: string;
  type: string;
  actorId: string;
  ts: string;
  eventTs: string;
};

export function toEntryEntity(entry: StoredEntry): TableEntity<EntryEntity> {
  return {
    partitionKey: entry.chainId,
    rowKey: entry.rowKey,
    canonical: entry.canonical,
    hash: entry.hash,
    prevHash: entry.prevHash,
    eventId: entry.eventId,
    type: entry.type,
    actorId: entry.actorId,
    ts: entry.ts,
    eventTs: entry.eventTs,
  };
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");

/** Missing or mistyped columns become empty strings: the verifier then reports the row, not a crash. */
export function fromEntryEntity(entity: Record<string, unknown>): StoredEntry {
  return {
    chainId: str(entity.partitionKey),
    rowKey: str(entity.rowKey),
    canonical: str(entity.canonical),
    hash: str(entity.hash),
    prevHash: str(entity.prevHash),
    eventId: str(entity.eventId),
    type: str(entity.type),
    actorId: str(entity.actorId),
    ts: str(entity.ts),
    eventTs: str(entity.eventTs),
  };
}

export function toHeadEntity(head: ChainHead): TableEntity<{ size: number; lastHash: string; updatedAt: string }> {
  return { partitionKey: head.chainId, rowKey: HEAD_ROW_KEY, size: head.size, lastHash: head.lastHash, updatedAt: head.updatedAt };
}

export function toDedupeEntity(entry: StoredEntry): TableEntity<{ sequence: string }> {
  return { partitionKey: entry.chainId, rowKey: dedupeRowKey(entry.eventId), sequence: entry.rowKey };
}
