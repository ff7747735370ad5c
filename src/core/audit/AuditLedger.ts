import { type StoredEntry } from "./ChainEntry.js";

export interface ChainHead {
  readonly chainId: string;
  readonly size: number;
  /** Hash of entry size-1, or GENESIS_HASH for an empty chain. */
  readonly lastHash: string;
  readonly updatedAt: string;
}

/** A head as read from the ledger, with the version that a commit must match. */
export interface LedgerHead extends ChainHead {
  readonly etag: string;
}

export interface LedgerOptions {
  readonly abortSignal?: AbortSignal;
}

export interface ListEntriesOptions extends LedgerOptions {
  /** First sequence number (inclusive), default 0. */
  readonly fromSequence?: number;
  /** Last sequence number (exclusive), default: everything stored. */
  readonly toSequence?: number;
  /** Rows per round trip (default: the store's largest page); a smaller page keeps each page's decoding short. */
  readonly pageSize?: number;
}

export interface CommitBatch {
  readonly chainId: string;
  /** The head's etag as read, or null when the chain has no head yet (the head is then inserted). */
  readonly expectedEtag: string | null;
  /** Consecutive entries starting at the head's size; one dedupe row is written per event id. */
  readonly entries: readonly StoredEntry[];
  readonly head: ChainHead;
}

export type CommitResult = { readonly committed: true; readonly etag: string } | { readonly committed: false; readonly reason: "conflict" };

/**
 * The chains, one per project. `commit` is atomic (one entity-group transaction on Azure Tables):
 * the entries, one dedupe row per event id and the head, updated only if it still has
 * `expectedEtag` (inserted when null). Any conflict — head moved, head created by another writer,
 * a dedupe row already present — writes nothing and returns `conflict`.
 */
export interface AuditLedger {
  /** How many entries one commit may carry (Azure: (100 - 1 head) / 2 rows per entry). */
  readonly maxEntriesPerCommit: number;
  getHead(chainId: string, options?: LedgerOptions): Promise<LedgerHead | null>;
  /** Event id -> sequence number, for the given ids already appended to the chain. */
  findAppended(chainId: string, eventIds: readonly string[], options?: LedgerOptions): Promise<ReadonlyMap<string, number>>;
  commit(batch: CommitBatch, options?: LedgerOptions): Promise<CommitResult>;
  /** Every stored entry row of the chain in row-key order (including rows that do not belong). */
  listEntries(chainId: string, options?: ListEntriesOptions): AsyncIterable<StoredEntry>;
  listChains(options?: LedgerOptions): AsyncIterable<LedgerHead>;
  /** Every dedupe row of the chain (event id -> the sequence it says the event was appended at). */
  listDedupe(chainId: string, options?: LedgerOptions): AsyncIterable<{ readonly eventId: string; readonly sequence: number }>;
}
