import { randomUUID } from "node:crypto";
import { type EventContext } from "rhea";
import { amqpMessage, rawBytesOf } from "./amqp.js";
import { BATCH_MESSAGE_FORMAT, splitBatch, StoredMessage } from "./messageCodec.js";
import { type QueueEntity } from "./queue.js";
import { type OperationTally } from "../operationTally.js";

/**
 * A transfer from a client's sender: one message, or a batch (format 0x80013700, one data section
 * per encoded message). Enqueues all of them and accepts the delivery, or none and rejects it (a
 * message that cannot be decoded, or one the queue refuses).
 */
export function acceptTransfer(queue: QueueEntity, context: EventContext, tally: OperationTally): void {
  const delivery = context.delivery;
  if (!delivery) return;
  const incoming: StoredMessage[] = [];
  tally.count("send");
  try {
    if (delivery.format === BATCH_MESSAGE_FORMAT) {
      const payload = context.message as unknown;
      if (!Buffer.isBuffer(payload)) throw new Error("batch without payload");
      for (const bytes of splitBatch(payload)) {
        incoming.push(StoredMessage.fromWire(amqpMessage.decode(bytes), bytes, randomUUID));
      }
    } else if (context.message) {
      incoming.push(StoredMessage.fromWire(context.message, rawBytesOf(context.message), randomUUID));
    }
  } catch {
    delivery.update(true, amqpMessage.rejected({ error: { condition: "amqp:decode-error", description: "The message could not be decoded." } }).described());
    return;
  }
  for (const message of incoming) {
    const refusal = queue.refusal(message);
    if (refusal) {
      delivery.update(true, amqpMessage.rejected({ error: { condition: "amqp:not-allowed", description: refusal } }).described());
      return;
    }
  }
  // The disposition first: enqueueing hands the messages to a waiting consumer at once, and the
  // sender, which awaits this answer, should not wait behind those transfers (they leave in one turn).
  delivery.update(true, amqpMessage.accepted().described());
  for (const message of incoming) queue.enqueue(message);
}
