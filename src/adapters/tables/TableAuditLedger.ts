import { odata, type TableClient } from "@azure/data-tables";
import { type HttpClient } from "@azure/core-rest-pipeline";
import {
  type AuditLedger,
  type CommitBatch,
  type CommitResult,
  type LedgerHead,
  type LedgerOptions,
  type ListEntriesOptions,
} from "../../core/audit/AuditLedger.js";
import { formatSequence, type StoredEntry } from "../../core/audit/ChainEntry.js";
import {
  dedupeRowKey,
  ENTRY_ROW_KEY_END,
  fromEntryEntity,
  HEAD_ROW_KEY,
  toDedupeEntity,
  toEntryEntity,
  toHeadEntity,
} from "./audit/auditEntities.js";
import { type EntityGroupOperation } from "./audit/entityGroupBody.js";
import { submitEntityGroupTransaction } from "./audit/submitEntityGroupTransaction.js";
import { ensureTable, once, statusCodeOf } from "../azure/azureErrors.js";

/** Azure Tables allows 100 operations per transaction: 49 entries + 49 dedupe rows + the head. */
const MAX_ENTRIES_PER_COMMIT = 49;
/** Azure Tables allows at most 15 comparisons in one $filter. */
const IDS_PER_QUERY = 14;
const PAGE_SIZE = 1000;

export interface TableAuditLedgerOptions {
  readonly createTableIfMissing?: boolean;
  /**
   * How the dedupe rows of a delivery are looked up. `pointReads` (default): one GET per event id,
   * in parallel, constant cost however long the chain — right for Azure, where RowKey `or` filters
   * scan the whole partition. `orQuery`: filters of 14 ids; cheaper on Azurite, whose point reads
   * are slow and whose queries always scan.
   */
  readonly dedupeLookup?: "pointReads" | "orQuery";
  /** The HTTP client under the table's pipeline for commits (default: one per process). */
  readonly httpClient?: HttpClient;
}

/** An OData string literal (quotes doubled). */
const quote = (value: string): string => `'${value.replaceAll("'", "''")}'`;

function toHead(entity: Record<string, unknown> & { etag: string }): LedgerHead {
  const { partitionKey, size, lastHash, updatedAt, etag } = entity;
  if (typeof partitionKey !== "string" || typeof size !== "number" || typeof lastHash !== "string") {
    throw new Error(`AuditLog head of ${String(partitionKey)} is malformed; run "palisade audit verify".`);
  }
  return { chainId: partitionKey, size, lastHash, updatedAt: typeof updatedAt === "string" ? updatedAt : "", etag };
}

/**
 * The audit chains in table `AuditLog` (see audit/auditEntities.ts for the rows). `commit` is ONE
 * entity-group transaction: entries + dedupe rows inserted (409 if any exists) + the head inserted
 * (409 if another writer created it) or replaced with If-Match (412 if it moved).
 */
export class TableAuditLedger implements AuditLedger {
  readonly maxEntriesPerCommit = MAX_ENTRIES_PER_COMMIT;
  /** Creates the table on first use (unless told not to); retried after a failure. */
  private readonly ready = once(() => (this.options.createTableIfMissing === false ? Promise.resolve() : ensureTable(() => this.table.createTable())));

  constructor(
    private readonly table: TableClient,
    private readonly options: TableAuditLedgerOptions = {},
  ) {}

  async getHead(chainId: string, options: LedgerOptions = {}): Promise<LedgerHead | null> {
    await this.ready();
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(chainId, HEAD_ROW_KEY, { abortSignal: options.abortSignal });
      return toHead(entity);
    } catch (error) {
      if (statusCodeOf(error) === 404) return null;
      throw error;
    }
  }

  async findAppended(chainId: string, eventIds: readonly string[], options: LedgerOptions = {}): Promise<ReadonlyMap<string, number>> {
    await this.ready();
    return this.options.dedupeLookup === "orQuery" ? this.findByQuery(chainId, eventIds, options) : this.findByPointReads(chainId, eventIds, options);
  }

  private async findByPointReads(chainId: string, eventIds: readonly string[], options: LedgerOptions): Promise<ReadonlyMap<string, number>> {
    const found = new Map<string, number>();
    await Promise.all(
      [...new Set(eventIds)].map(async (id) => {
        try {
          const row = await this.table.getEntity<Record<string, unknown>>(chainId, dedupeRowKey(id), {
            queryOptions: { select: ["sequence"] },
            abortSignal: options.abortSignal,
          });
          if (typeof row.sequence === "string") found.set(id, Number(row.sequence));
        } catch (error) {
          if (statusCodeOf(error) !== 404) throw error;
        }
      }),
    );
    return found;
  }

  private async findByQuery(chainId: string, eventIds: readonly string[], options: LedgerOptions): Promise<ReadonlyMap<string, number>> {
    const found = new Map<string, number>();
    const byRowKey = new Map(eventIds.map((id) => [dedupeRowKey(id), id]));
    const keys = [...byRowKey.keys()];
    const queries: Promise<void>[] = [];
    for (let i = 0; i < keys.length; i += IDS_PER_QUERY) {
      const group = keys.slice(i, i + IDS_PER_QUERY);
      const filter = `PartitionKey eq ${quote(chainId)} and (${group.map((k) => `RowKey eq ${quote(k)}`).join(" or ")})`;
      queries.push(
        (async () => {
          const rows = this.table.listEntities<Record<string, unknown>>({
            queryOptions: { filter, select: ["RowKey", "sequence"] },
            abortSignal: options.abortSignal,
          });
          for await (const row of rows) {
            const id = typeof row.rowKey === "string" ? byRowKey.get(row.rowKey) : undefined;
            if (id !== undefined && typeof row.sequence === "string") found.set(id, Number(row.sequence));
          }
        })(),
      );
    }
    await Promise.all(queries);
    return found;
  }

  async commit(batch: CommitBatch, options: LedgerOptions = {}): Promise<CommitResult> {
    if (batch.entries.length === 0 || batch.entries.length > MAX_ENTRIES_PER_COMMIT) {
      throw new RangeError(`A commit carries 1..${MAX_ENTRIES_PER_COMMIT} entries, not ${batch.entries.length}`);
    }
    await this.ready();
    const operations: EntityGroupOperation[] = [];
    for (const entry of batch.entries) {
      operations.push({ kind: "insert", row: toEntryEntity(entry) }, { kind: "insert", row: toDedupeEntity(entry) });
    }
    const head = toHeadEntity(batch.head);
    operations.push(batch.expectedEtag === null ? { kind: "insert", row: head } : { kind: "replace", row: head, ifMatch: batch.expectedEtag });
    try {
      const subResponses = await submitEntityGroupTransaction(this.table, operations, {
        ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
        ...(this.options.httpClient === undefined ? {} : { httpClient: this.options.httpClient }),
      });
      // Sub-responses come in request order and the head is the last operation: its ETag is the head's
      // new version (no extra read of the head).
      const etag = subResponses.length === operations.length ? subResponses.at(-1)?.etag : undefined;
      if (etag !== undefined && etag !== "") return { committed: true, etag };
      const reread = await this.getHead(batch.chainId, options);
      return { committed: true, etag: reread?.etag ?? "" };
    } catch (error) {
      const status = statusCodeOf(error);
      // 409: a row exists (dedupe, entry or head); 412: the head moved; 404: the head vanished.
      if (status === 409 || status === 412 || status === 404) return { committed: false, reason: "conflict" };
      throw error;
    }
  }

  async *listEntries(chainId: string, options: ListEntriesOptions = {}): AsyncIterable<StoredEntry> {
    await this.ready();
    const from = formatSequence(options.fromSequence ?? 0);
    const to = options.toSequence === undefined ? ENTRY_ROW_KEY_END : formatSequence(options.toSequence);
    const filter = odata`PartitionKey eq ${chainId} and RowKey ge ${from} and RowKey lt ${to}`;
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter }, abortSignal: options.abortSignal })
      .byPage({ maxPageSize: Math.min(PAGE_SIZE, Math.max(1, options.pageSize ?? PAGE_SIZE)) });
    for await (const page of pages) {
      for (const row of page) yield fromEntryEntity(row);
    }
  }

  async *listDedupe(chainId: string, options: LedgerOptions = {}): AsyncIterable<{ eventId: string; sequence: number }> {
    await this.ready();
    // Dedupe row keys are "dedupe_" + the percent-encoded event id; "dedupe`" is the next key after them.
    const filter = odata`PartitionKey eq ${chainId} and RowKey ge ${"dedupe_"} and RowKey lt ${"dedupe`"}`;
    const rows = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ["RowKey", "sequence"] }, abortSignal: options.abortSignal });
    for await (const row of rows) {
      if (typeof row.rowKey !== "string") continue;
      let eventId: string;
      try {
        eventId = decodeURIComponent(row.rowKey.slice("dedupe_".length));
      } catch {
        eventId = row.rowKey;
      }
      yield { eventId, sequence: typeof row.sequence === "string" && /^\d+$/.test(row.sequence) ? Number(row.sequence) : -1 };
    }
  }

  async *listChains(options: LedgerOptions = {}): AsyncIterable<LedgerHead> {
    await this.ready();
    const filter = odata`RowKey eq ${HEAD_ROW_KEY}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter }, abortSignal: options.abortSignal })) {
      yield toHead(row);
    }
  }
}
