import { type AuditDeadLetterQueue, type DeadLetterReplayOptions, type DeadLetterReplayResult } from "../../src/core/audit/AuditDeadLetterQueue.js";
import { type AuditEvent, chainIdOf } from "../../src/core/audit/AuditEvent.js";
import { type AuditPublisher } from "../../src/core/audit/AuditPublisher.js";

/** A broker dead-letter queue in memory: `deadLetter(event)` puts one there; a replay republishes through `target`. */
export class InMemoryAuditDeadLetterQueue implements AuditDeadLetterQueue {
  private readonly messages: { event: AuditEvent; replays: number }[] = [];

  constructor(private readonly target: AuditPublisher) {}

  deadLetter(event: AuditEvent, replays = 0): void {
    this.messages.push({ event, replays });
  }

  async replay(options: DeadLetterReplayOptions = {}): Promise<DeadLetterReplayResult> {
    const maxReplays = options.maxReplays ?? 5;
    const byChain: Record<string, number> = {};
    let replayed = 0;
    let kept = 0;
    for (const message of [...this.messages].slice(0, options.maxMessages ?? Infinity)) {
      if (message.replays >= maxReplays) {
        kept += 1;
        continue;
      }
      await this.target.publish([message.event]);
      this.messages.splice(this.messages.indexOf(message), 1);
      replayed += 1;
      const chain = chainIdOf(message.event);
      byChain[chain] = (byChain[chain] ?? 0) + 1;
    }
    return { replayed, kept, byChain };
  }

  async countByChain(): Promise<ReadonlyMap<string, number>> {
    const counts = new Map<string, number>();
    for (const { event } of this.messages) counts.set(chainIdOf(event), (counts.get(chainIdOf(event)) ?? 0) + 1);
    return counts;
  }
}
