import { type AuditDeadLetterQueue } from "./AuditDeadLetterQueue.js";
import { type AuditDeadLetters } from "./AuditDeadLetters.js";
import { type AuditLedger } from "./AuditLedger.js";
import { type AuditOutbox } from "./AuditOutbox.js";

/**
 * Events meant for a chain that are not in it yet: in the outbox (Service Bus was down; the drain timer
 * sends them), in the broker's dead-letter queue (the replay timer sends them back) or in the trigger's
 * dead-letter store (invalid: an operator decides). A chain can be intact and still not complete.
 */
export interface AuditBacklog {
  readonly outbox: number;
  /** null when the dead-letter queue could not be read (no Service Bus configured, or it is down). */
  readonly deadLetterQueue: number | null;
  readonly deadLetterStore: number;
  /** True only when all three are known to be 0. */
  readonly complete: boolean;
}

export interface AuditBacklogSources {
  /** When given, outbox events already in their chain (a send that landed after its deadline) are not counted. */
  readonly ledger?: Pick<AuditLedger, "findAppended">;
  readonly outbox: AuditOutbox;
  readonly deadLetters: AuditDeadLetters;
  readonly deadLetterQueue: AuditDeadLetterQueue | null;
}

/** Counts the backlog of every chain at once (for the nightly report); at most `limit` rows per source. */
export async function countAuditBacklogs(sources: AuditBacklogSources, options: { limit?: number; abortSignal?: AbortSignal } = {}): Promise<(chainId: string) => AuditBacklog> {
  const limit = options.limit ?? 100_000;
  const signal = options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
  const waiting = new Map<string, string[]>();
  for await (const event of sources.outbox.list({ limit, ...signal })) waiting.set(event.project, [...(waiting.get(event.project) ?? []), event.eventId]);
  const outbox = new Map<string, number>();
  for (const [chainId, ids] of waiting) {
    let appended = 0;
    if (sources.ledger !== undefined) {
      for (let i = 0; i < ids.length; i += 100) appended += (await sources.ledger.findAppended(chainId, ids.slice(i, i + 100), signal)).size;
    }
    outbox.set(chainId, ids.length - appended);
  }
  const store = new Map<string, number>();
  for await (const letter of sources.deadLetters.list(signal)) store.set(letter.chainId ?? "", (store.get(letter.chainId ?? "") ?? 0) + 1);
  let dlq: ReadonlyMap<string, number> | null = null;
  if (sources.deadLetterQueue !== null) {
    try {
      dlq = await sources.deadLetterQueue.countByChain({ limit, ...signal });
    } catch {
      dlq = null;
    }
  }
  return (chainId) => {
    const counts = { outbox: outbox.get(chainId) ?? 0, deadLetterQueue: dlq === null ? null : (dlq.get(chainId) ?? 0), deadLetterStore: store.get(chainId) ?? 0 };
    return { ...counts, complete: counts.outbox === 0 && counts.deadLetterQueue === 0 && counts.deadLetterStore === 0 };
  };
}
