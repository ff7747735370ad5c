import { type Clock } from "../clock.js";
import { type Logger } from "../logger.js";
import { type AuditEvent, chainIdOf } from "./AuditEvent.js";
import { parseAuditEvent } from "./auditEventSchema.js";
import { unpackAuditBody } from "./auditMessageBody.js";
import { type AuditCheckpointer } from "./AuditCheckpointer.js";
import { type AuditLedger, type LedgerHead } from "./AuditLedger.js";
import { createEntry, GENESIS_HASH, MAX_CANONICAL_LENGTH, type StoredEntry } from "./ChainEntry.js";
import { CommittedRuns } from "./CommittedRuns.js";
import { yieldToEventLoop } from "./yieldToEventLoop.js";

/** One delivered message: its broker id (for logs) and body (object, JSON text or bytes; one event or packed: auditMessageBody.ts). */
export interface AuditMessage {
  readonly messageId?: string;
  readonly body: unknown;
}

/** What became of one event (or of a message that holds no readable event). */
export type AppendStatus =
  | { readonly status: "appended"; readonly eventId: string; readonly chainId: string; readonly sequence: number }
  | { readonly status: "duplicate"; readonly eventId: string; readonly chainId: string; readonly sequence?: number }
  | { readonly status: "invalid"; readonly reason: string };

/**
 * One outcome per event, in delivery order: `index` is its message's position in the delivery, `part` its
 * position inside a packed message (absent for a one-event message, and for a packed message that could
 * not be read at all: then the one outcome stands for the whole message).
 */
export type AppendOutcome = AppendStatus & { readonly index: number; readonly part?: number; readonly messageId?: string };

export interface AuditAppenderDeps {
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Signs a checkpoint whenever a chain crosses a multiple of `checkpointEvery`. */
  readonly checkpointer?: Pick<AuditCheckpointer, "checkpoint">;
  readonly checkpointEvery?: number;
  /**
   * Also sign one when a chain grows and its last checkpoint (by this appender) is this old, so that what
   * no checkpoint covers yet is at most this window of entries, not up to `checkpointEvery` of them.
   * A chain this appender has not checkpointed yet counts as due. Off when absent or 0.
   */
  readonly checkpointEveryInMs?: number;
  /** Conflicts (another writer moved the head) re-read and retry up to this many times per commit. */
  readonly maxAttempts?: number;
  /**
   * Heads remembered between deliveries, per chain (default 1,024 chains; 0 turns it off). Safe because
   * every commit carries the head's ETag: a stale head fails the commit (412) and is read again.
   */
  readonly headCacheSize?: number;
  /**
   * Awaited between slices of a delivery's work (decoding, hashing a chunk), so that an instance that
   * also serves HTTP answers requests in between instead of after the whole batch. Default: the next
   * turn of the event loop.
   */
  readonly yieldToEventLoop?: () => Promise<void>;
}

/** Thrown when a commit keeps conflicting: transient, the message should be retried. */
export class AuditAppendConflictError extends Error {
  override readonly name = "AuditAppendConflictError";
}

const NOTHING_APPENDED: ReadonlyMap<string, number> = new Map();
/** Events decoded and validated between two yields (~20 µs each). */
const DECODE_SLICE = 16;
/**
 * Entries canonicalised and hashed between two yields (~20-60 µs each): a chunk of 49 in one turn, with
 * the transaction's body built and sent in the same turn, held the loop for 3-7 ms on a busy machine.
 */
const ENTRY_SLICE = 16;
/**
 * Entry hashes kept for the checkpoint (CommittedRuns: ~90 bytes each): over all chains 50,000 (~4.5 MB),
 * per chain twice `checkpointEvery` and at least 2,000 (a delivery can carry more than a small one).
 */
const COMMITTED_HASHES_KEPT = 50_000;
const MIN_COMMITTED_HASHES_PER_CHAIN = 2_000;

interface Pending {
  /** Position in the delivery's outcomes. */
  readonly slot: number;
  readonly event: AuditEvent;
}

/** Where an outcome's event came from. */
interface Origin {
  readonly index: number;
  readonly part?: number;
  readonly messageId?: string;
}

/**
 * The use case behind the Service Bus trigger: decodes and validates each message's event (or each
 * event of a packed message), appends the valid ones to their chains in order (one transaction per chunk; a redelivered event is reported
 * as a duplicate and appended nothing), and reports per event. An invalid event of a packed message
 * is reported on its own; the message's valid events are appended all the same. Throws only on transient failure.
 */
export class AuditAppender {
  private readonly maxAttempts: number;
  private readonly headCacheSize: number;
  private readonly yieldToEventLoop: () => Promise<void>;
  /** Chain id -> the head as this appender last committed or read it (insertion order = age). */
  private readonly heads = new Map<string, LedgerHead>();
  /** Chain id -> when this appender last signed a checkpoint of it. */
  private readonly checkpointedAt = new Map<string, number>();
  /** What this appender committed since each chain's latest checkpoint: its checkpoint does not read it back. */
  private readonly committed: CommittedRuns | undefined;

  constructor(private readonly deps: AuditAppenderDeps) {
    this.maxAttempts = deps.maxAttempts ?? 8;
    this.headCacheSize = deps.headCacheSize ?? 1024;
    this.yieldToEventLoop = deps.yieldToEventLoop ?? yieldToEventLoop;
    const every = deps.checkpointEvery !== undefined && deps.checkpointEvery > 0 ? deps.checkpointEvery : 0;
    this.committed = deps.checkpointer === undefined ? undefined : new CommittedRuns({ perChain: Math.max(2 * every, MIN_COMMITTED_HASHES_PER_CHAIN), total: COMMITTED_HASHES_KEPT });
  }

  async append(messages: readonly AuditMessage[], options: { abortSignal?: AbortSignal } = {}): Promise<AppendOutcome[]> {
    const origins: Origin[] = [];
    const statuses: (AppendStatus | undefined)[] = [];
    const byChain = new Map<string, Pending[]>();
    const seen = new Map<string, string>();
    let decoded = 0;
    const take = (origin: Origin, value: unknown): void => {
      const slot = origins.length;
      origins.push(origin);
      const parsed = parseAuditEvent(value);
      if (!parsed.ok) {
        statuses.push({ status: "invalid", reason: parsed.reason });
        return;
      }
      const event = parsed.event;
      const chainId = chainIdOf(event);
      if (seen.get(event.eventId) === chainId) {
        statuses.push({ status: "duplicate", eventId: event.eventId, chainId });
        return;
      }
      statuses.push(undefined);
      seen.set(event.eventId, chainId);
      const list = byChain.get(chainId) ?? [];
      list.push({ slot, event });
      byChain.set(chainId, list);
    };
    for (let index = 0; index < messages.length; index += 1) {
      const message = messages[index] as AuditMessage;
      const origin: Origin = message.messageId === undefined ? { index } : { index, messageId: message.messageId };
      const unpacked = unpackAuditBody(message.body);
      if (unpacked.kind === "invalid") {
        origins.push(origin);
        statuses.push({ status: "invalid", reason: unpacked.reason });
        continue;
      }
      const values = unpacked.kind === "single" ? [unpacked.value] : unpacked.values;
      for (let part = 0; part < values.length; part += 1) {
        if (decoded > 0 && decoded % DECODE_SLICE === 0) await this.yieldToEventLoop();
        decoded += 1;
        take(unpacked.kind === "single" ? origin : { ...origin, part }, values[part]);
      }
    }

    // Chains are independent: append them concurrently (each one still in message order).
    const perChain = await Promise.all([...byChain].map(([chainId, pending]) => this.appendToChain(chainId, pending, options)));
    for (const results of perChain) for (const [slot, status] of results) statuses[slot] = status;
    return origins.map((origin, slot) => ({ ...(statuses[slot] ?? { status: "invalid", reason: "not processed" }), ...origin }));
  }

  private async appendToChain(chainId: string, pending: readonly Pending[], options: { abortSignal?: AbortSignal }): Promise<Map<number, AppendStatus>> {
    const { ledger, logger } = this.deps;
    const results = new Map<number, AppendStatus>();
    const chunkSize = ledger.maxEntriesPerCommit;
    // No dedupe look-up up front: the commit itself inserts one dedupe row per event id, so an event
    // appended before (a redelivery) fails the whole transaction with a conflict and writes nothing.
    // Only then are the dedupe rows read — for that chunk and, as more redelivered events are likely,
    // before every later chunk of this delivery.
    let head = this.cachedHead(chainId) ?? (await ledger.getHead(chainId, options));
    let sizeBefore: number | undefined;
    let checkDedupeFirst = false;
    try {
      for (let offset = 0; offset < pending.length; offset += chunkSize) {
        const chunk = pending.slice(offset, offset + chunkSize);
        const ids = chunk.map((p) => p.event.eventId);
        // A turn of the event loop before each chunk, and more while its entries are hashed (ENTRY_SLICE).
        await this.yieldToEventLoop();
        let appended: ReadonlyMap<string, number> = checkDedupeFirst ? await ledger.findAppended(chainId, ids, options) : NOTHING_APPENDED;
        for (let attempt = 1; ; attempt += 1) {
          const from = head?.size ?? 0;
          const outcome = await this.commitChunk(chainId, chunk, head, appended, results, options);
          if (outcome.committed) {
            sizeBefore ??= from;
            // Known committed: the head had exactly this size and last hash (its ETag matched).
            this.committed?.committed(chainId, from, head?.lastHash ?? GENESIS_HASH, outcome.hashes);
            head = outcome.head;
            this.remember(chainId, head);
            break;
          }
          if (attempt >= this.maxAttempts) {
            logger.warn("audit.append.conflict", { chainId, attempts: attempt });
            throw new AuditAppendConflictError(`Chain ${chainId}: the head kept moving after ${attempt} attempts; retry the delivery.`);
          }
          // A conflict: another writer moved the head, or some of these events were appended before.
          checkDedupeFirst = true;
          [head, appended] = await Promise.all([ledger.getHead(chainId, options), ledger.findAppended(chainId, ids, options)]);
          this.remember(chainId, head);
        }
      }
    } catch (error) {
      // The outcome of the last commit may be unknown (a timeout): read the head again next time. The run
      // goes too: no later commit could continue it anyway if that one landed (the head moved past it).
      this.heads.delete(chainId);
      this.committed?.forget(chainId);
      throw error;
    }
    if (sizeBefore !== undefined) await this.maybeCheckpoint(chainId, sizeBefore, head?.size ?? sizeBefore);
    return results;
  }

  private cachedHead(chainId: string): LedgerHead | undefined {
    return this.headCacheSize > 0 ? this.heads.get(chainId) : undefined;
  }

  private remember(chainId: string, head: LedgerHead | null): void {
    if (this.headCacheSize <= 0) return;
    this.heads.delete(chainId);
    if (head === null || head.etag === "") return;
    this.heads.set(chainId, head);
    if (this.heads.size > this.headCacheSize) {
      const oldest = this.heads.keys().next();
      if (oldest.done !== true) this.heads.delete(oldest.value);
    }
  }

  private async commitChunk(
    chainId: string,
    chunk: readonly Pending[],
    head: LedgerHead | null,
    appended: ReadonlyMap<string, number>,
    results: Map<number, AppendStatus>,
    options: { abortSignal?: AbortSignal },
  ): Promise<{ committed: true; head: LedgerHead | null; hashes: readonly string[] } | { committed: false }> {
    const ts = new Date(this.deps.clock.nowInMs()).toISOString();
    let prevHash = head?.lastHash ?? GENESIS_HASH;
    let size = head?.size ?? 0;
    const entries: StoredEntry[] = [];
    const accepted: Pending[] = [];
    let created = 0;
    for (const p of chunk) {
      // prevHash and size are this attempt's own: the yields change no order, and a writer that moved the
      // head meanwhile fails the commit on its ETag, as without them.
      if (created > 0 && created % ENTRY_SLICE === 0) await this.yieldToEventLoop();
      const sequence = appended.get(p.event.eventId);
      if (sequence !== undefined) {
        results.set(p.slot, { status: "duplicate", eventId: p.event.eventId, chainId, sequence });
        continue;
      }
      created += 1;
      const entry = createEntry({ chainId, sequence: size, ts, prevHash, event: p.event });
      if (entry.canonical.length > MAX_CANONICAL_LENGTH) {
        results.set(p.slot, { status: "invalid", reason: `too_large: the event's canonical form exceeds ${MAX_CANONICAL_LENGTH} characters` });
        continue;
      }
      entries.push(entry);
      accepted.push(p);
      prevHash = entry.hash;
      size += 1;
    }
    if (entries.length === 0) return { committed: true, head, hashes: [] };
    const newHead = { chainId, size, lastHash: prevHash, updatedAt: ts };
    const result = await this.deps.ledger.commit({ chainId, expectedEtag: head?.etag ?? null, entries, head: newHead }, options);
    if (!result.committed) {
      for (const p of chunk) results.delete(p.slot);
      return { committed: false };
    }
    accepted.forEach((p, i) => {
      results.set(p.slot, { status: "appended", eventId: p.event.eventId, chainId, sequence: Number((entries[i] as StoredEntry).rowKey) });
    });
    return { committed: true, head: { ...newHead, etag: result.etag }, hashes: entries.map((entry) => entry.hash) };
  }

  private async maybeCheckpoint(chainId: string, before: number, after: number): Promise<void> {
    const { checkpointer, checkpointEvery, checkpointEveryInMs, clock, logger } = this.deps;
    if (checkpointer === undefined) return;
    const byCount = checkpointEvery !== undefined && checkpointEvery > 0 && Math.floor(before / checkpointEvery) !== Math.floor(after / checkpointEvery);
    const now = clock.nowInMs();
    const last = this.checkpointedAt.get(chainId);
    const byTime = checkpointEveryInMs !== undefined && checkpointEveryInMs > 0 && (last === undefined || now - last >= checkpointEveryInMs);
    if (!byCount && !byTime) return;
    try {
      const committed = this.committed?.get(chainId);
      const signed = await checkpointer.checkpoint(chainId, committed === undefined ? {} : { committed });
      this.committed?.checkpointed(chainId, signed.size);
      this.checkpointedAt.set(chainId, now);
    } catch (error) {
      // The entries are committed; the nightly job (or `palisade audit checkpoint`) retries.
      logger.error("audit.checkpoint.failed", { chainId, size: after, error: error instanceof Error ? error.name : "unknown" });
    }
  }
}
