import { type ServiceBusClient, type ServiceBusMessage, type ServiceBusReceivedMessage } from "@azure/service-bus";
import { type AuditDeadLetterQueue, type DeadLetterReplayOptions, type DeadLetterReplayResult } from "../../core/audit/AuditDeadLetterQueue.js";
import { unpackAuditBody } from "../../core/audit/auditMessageBody.js";

/** Application property counting how often Palisade sent a message back from the dead-letter queue. */
export const REPLAY_COUNT_PROPERTY = "palisadeReplays";

/** Events a message carries: a packed message's, else one (an unreadable body counts as one: it is one thing missing). */
const eventsIn = (message: ServiceBusReceivedMessage): number => {
  const unpacked = unpackAuditBody(message.body);
  return unpacked.kind === "packed" ? unpacked.values.length : 1;
};

const replaysOf = (message: ServiceBusReceivedMessage): number => {
  const value = message.applicationProperties?.[REPLAY_COUNT_PROPERTY];
  return typeof value === "number" ? value : 0;
};

/**
 * The audit queue's dead-letter queue on Service Bus. A replay receives in peek-lock, sends a copy of each
 * message back to the queue (same message id, session id, body and content type, so a packed message
 * goes back packed; the dead-letter reason dropped, the replay count raised), and completes the dead-lettered one only after the send was accepted:
 * a crash in between leaves both, and the chain deduplicates. A message replayed `maxReplays` times is
 * abandoned back into the dead-letter queue for an operator.
 */
export class ServiceBusAuditDeadLetterQueue implements AuditDeadLetterQueue {
  /**
   * `connect` makes a client for one operation, closed after it: a replay or a count (a timer every few
   * minutes, a CLI command) never shares, nor outlives, the request path's connection.
   */
  constructor(
    private readonly connect: () => ServiceBusClient,
    private readonly queueName: string,
  ) {}

  private async withClient<T>(work: (client: ServiceBusClient) => Promise<T>): Promise<T> {
    const client = this.connect();
    try {
      return await work(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  replay(options: DeadLetterReplayOptions = {}): Promise<DeadLetterReplayResult> {
    return this.withClient((client) => this.replayWith(client, options));
  }

  countByChain(options: { abortSignal?: AbortSignal; limit?: number } = {}): Promise<ReadonlyMap<string, number>> {
    return this.withClient((client) => this.countWith(client, options));
  }

  private async replayWith(client: ServiceBusClient, options: DeadLetterReplayOptions): Promise<DeadLetterReplayResult> {
    const maxMessages = options.maxMessages ?? 5_000;
    const maxReplays = options.maxReplays ?? 5;
    const abortSignal = options.abortSignal;
    const receiver = client.createReceiver(this.queueName, { subQueueType: "deadLetter", receiveMode: "peekLock" });
    const sender = client.createSender(this.queueName);
    const kept: ServiceBusReceivedMessage[] = [];
    const byChain: Record<string, number> = {};
    let replayed = 0;
    try {
      while (replayed + kept.length < maxMessages && abortSignal?.aborted !== true) {
        const batch = await receiver.receiveMessages(Math.min(100, maxMessages - replayed - kept.length), { maxWaitTimeInMs: 1_000, ...(abortSignal ? { abortSignal } : {}) });
        if (batch.length === 0) break;
        for (const message of batch) {
          const replays = replaysOf(message);
          if (replays >= maxReplays) {
            kept.push(message);
            continue;
          }
          const properties: NonNullable<ServiceBusMessage["applicationProperties"]> = { ...(message.applicationProperties ?? {}), [REPLAY_COUNT_PROPERTY]: replays + 1 };
          delete properties.DeadLetterReason;
          delete properties.DeadLetterErrorDescription;
          await sender.sendMessages(
            {
              body: message.body as unknown,
              ...(message.messageId === undefined ? {} : { messageId: message.messageId }),
              ...(message.sessionId === undefined ? {} : { sessionId: message.sessionId }),
              ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
              ...(message.subject === undefined ? {} : { subject: message.subject }),
              applicationProperties: properties,
            },
            abortSignal ? { abortSignal } : {},
          );
          await receiver.completeMessage(message);
          replayed += 1;
          const chain = message.sessionId ?? "";
          byChain[chain] = (byChain[chain] ?? 0) + 1;
        }
      }
    } finally {
      // Kept messages go back into the dead-letter queue (abandoned there, they stay there).
      await Promise.allSettled(kept.map((message) => receiver.abandonMessage(message)));
      await receiver.close().catch(() => undefined);
      await sender.close().catch(() => undefined);
    }
    return { replayed, kept: kept.length, byChain };
  }

  private async countWith(client: ServiceBusClient, options: { abortSignal?: AbortSignal; limit?: number }): Promise<ReadonlyMap<string, number>> {
    const limit = options.limit ?? 10_000;
    const receiver = client.createReceiver(this.queueName, { subQueueType: "deadLetter" });
    const counts = new Map<string, number>();
    try {
      let seen = 0;
      while (seen < limit) {
        // A receiver's peeks continue after the last message it peeked.
        const page = await receiver.peekMessages(Math.min(250, limit - seen), options.abortSignal ? { abortSignal: options.abortSignal } : {});
        if (page.length === 0) break;
        for (const message of page) {
          const chain = message.sessionId ?? "";
          counts.set(chain, (counts.get(chain) ?? 0) + eventsIn(message));
        }
        seen += page.length;
      }
    } finally {
      await receiver.close().catch(() => undefined);
    }
    return counts;
  }
}
