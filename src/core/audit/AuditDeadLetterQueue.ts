import { type Logger } from "../logger.js";

/** What one replay run did. */
export interface DeadLetterReplayResult {
  /** Sent back to the audit queue (same message id and session) and removed from the dead-letter queue. */
  readonly replayed: number;
  /** Left in the dead-letter queue: replayed `maxReplays` times already (a poison message needs a person). */
  readonly kept: number;
  /** Replayed per chain (session id). */
  readonly byChain: Readonly<Record<string, number>>;
}

export interface DeadLetterReplayOptions {
  /** At most this many messages per run. */
  readonly maxMessages?: number;
  /** A message replayed this often already stays where it is. */
  readonly maxReplays?: number;
  readonly abortSignal?: AbortSignal;
}

/**
 * The broker's dead-letter queue of the audit queue (`<queue>/$DeadLetterQueue`): where Service Bus puts a
 * message after MaxDeliveryCount failed deliveries (or an expired TTL). Every valid event there is one the
 * chain is still missing, so it is replayed, not just reported. Replaying is safe at any time: the chain
 * deduplicates by event id.
 */
export interface AuditDeadLetterQueue {
  replay(options?: DeadLetterReplayOptions): Promise<DeadLetterReplayResult>;
  /** Events waiting there, per chain (session id; `""` when a message had none): a packed message counts its events. */
  countByChain(options?: { abortSignal?: AbortSignal; limit?: number }): Promise<ReadonlyMap<string, number>>;
}

/** The timer's and the CLI's use case: replay, and say what happened. */
export async function replayAuditDeadLetters(deps: { queue: AuditDeadLetterQueue; logger: Logger }, options: DeadLetterReplayOptions = {}): Promise<DeadLetterReplayResult> {
  const result = await deps.queue.replay(options);
  if (result.replayed > 0) deps.logger.warn("audit.dead_letter_queue.replayed", { replayed: result.replayed, kept: result.kept, chains: Object.keys(result.byChain) });
  if (result.kept > 0) deps.logger.error("audit.dead_letter_queue.kept", { kept: result.kept, reason: "replayed too often: see docs/runbooks/audit-dead-letters.md" });
  return result;
}
