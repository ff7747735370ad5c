import { type AuditLedger, type CommitBatch, type CommitResult, type LedgerHead, type ListEntriesOptions } from "../../src/core/audit/AuditLedger.js";
import { formatSequence, type StoredEntry } from "../../src/core/audit/ChainEntry.js";

interface Chain {
  head: LedgerHead | null;
  /** rowKey -> entry; kept as a map so tests can tamper like an attacker with table access. */
  rows: Map<string, StoredEntry>;
  dedupe: Map<string, number>;
}

export class InMemoryAuditLedger implements AuditLedger {
  readonly maxEntriesPerCommit: number;
  readonly chains = new Map<string, Chain>();
  private version = 0;
  commits = 0;

  constructor(options: { maxEntriesPerCommit?: number } = {}) {
    this.maxEntriesPerCommit = options.maxEntriesPerCommit ?? 49;
  }

  private chain(chainId: string): Chain {
    let chain = this.chains.get(chainId);
    if (chain === undefined) {
      chain = { head: null, rows: new Map(), dedupe: new Map() };
      this.chains.set(chainId, chain);
    }
    return chain;
  }

  async getHead(chainId: string): Promise<LedgerHead | null> {
    return this.chains.get(chainId)?.head ?? null;
  }

  async findAppended(chainId: string, eventIds: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const found = new Map<string, number>();
    const chain = this.chains.get(chainId);
    for (const id of eventIds) {
      const seq = chain?.dedupe.get(id);
      if (seq !== undefined) found.set(id, seq);
    }
    return found;
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    if (batch.entries.length > this.maxEntriesPerCommit) throw new RangeError("too many entries for one commit");
    const chain = this.chain(batch.chainId);
    const currentEtag = chain.head?.etag ?? null;
    if (currentEtag !== batch.expectedEtag) return { committed: false, reason: "conflict" };
    for (const entry of batch.entries) {
      if (chain.dedupe.has(entry.eventId) || chain.rows.has(entry.rowKey)) return { committed: false, reason: "conflict" };
    }
    for (const entry of batch.entries) {
      chain.rows.set(entry.rowKey, { ...entry });
      chain.dedupe.set(entry.eventId, Number(entry.rowKey));
    }
    this.version += 1;
    const etag = `W/"${this.version}"`;
    chain.head = { ...batch.head, etag };
    this.commits += 1;
    return { committed: true, etag };
  }

  async *listEntries(chainId: string, options: ListEntriesOptions = {}): AsyncIterable<StoredEntry> {
    const chain = this.chains.get(chainId);
    if (chain === undefined) return;
    const from = formatSequence(options.fromSequence ?? 0);
    const to = options.toSequence === undefined ? undefined : formatSequence(options.toSequence);
    const keys = [...chain.rows.keys()].filter((k) => k >= from && (to === undefined || k < to)).sort();
    for (const key of keys) yield { ...(chain.rows.get(key) as StoredEntry) };
  }

  async *listDedupe(chainId: string): AsyncIterable<{ eventId: string; sequence: number }> {
    for (const [eventId, sequence] of [...(this.chains.get(chainId)?.dedupe ?? new Map<string, number>())]) yield { eventId, sequence };
  }

  async *listChains(): AsyncIterable<LedgerHead> {
    for (const id of [...this.chains.keys()].sort()) {
      const head = this.chains.get(id)?.head;
      if (head) yield head;
    }
  }
}
