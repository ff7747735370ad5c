import { type Delivery, type EventContext, type Sender } from "rhea";
import { amqpMessage } from "./amqp.js";
import { type LinkConsumer } from "./linkConsumer.js";
import { lockTokenFromDeliveryTag } from "./lockToken.js";
import { type Settlement } from "./settlement.js";
import { type OperationTally } from "../operationTally.js";

/**
 * Turns the client's dispositions on a receiver's deliveries into settlements on the queue and
 * answers each with a settled disposition echoing the outcome (the SDK waits for it), or rejected
 * with message-lock-lost when the lock is gone. complete = accepted; abandon = released or
 * modified; defer = modified{undeliverable_here}; dead-letter = rejected.
 */
export function watchDispositions(sender: Sender, consumer: LinkConsumer, tally: OperationTally): void {
  const settle = (delivery: Delivery | undefined, settlement: Settlement, echo: object): void => {
    if (!delivery) return;
    tally.count(`settle.${settlement.kind}`);
    const token = lockTokenFromDeliveryTag(delivery.tag);
    const result = token === undefined ? "lockLost" : consumer.queue.settle(token, settlement);
    const state =
      result === "ok"
        ? echo
        : amqpMessage
            .rejected({
              error: {
                condition: "com.microsoft:message-lock-lost",
                description: "The lock supplied is invalid: it expired, or the message was already settled.",
              },
            })
            .described();
    delivery.update(true, state);
    // rhea frees a delivery only once both ends settled; the client will not settle it again.
    (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
  };
  sender.on("accepted", (context: EventContext) =>
    settle(context.delivery, { kind: "complete" }, amqpMessage.accepted().described()),
  );
  sender.on("released", (context: EventContext) =>
    settle(context.delivery, { kind: "abandon" }, amqpMessage.released().described()),
  );
  sender.on("modified", (context: EventContext) => {
    const outcome = (context.delivery?.remote_state ?? {}) as {
      undeliverable_here?: boolean;
      message_annotations?: Record<string, unknown>;
    };
    const propertiesToModify = outcome.message_annotations ?? undefined;
    const settlement: Settlement = outcome.undeliverable_here
      ? { kind: "defer", propertiesToModify }
      : { kind: "abandon", propertiesToModify };
    settle(
      context.delivery,
      settlement,
      amqpMessage.modified({ undeliverable_here: outcome.undeliverable_here ?? false }).described(),
    );
  });
  sender.on("rejected", (context: EventContext) => {
    const error = ((context.delivery?.remote_state ?? {}) as { error?: { condition?: string; info?: Record<string, unknown> } })
      .error;
    const info = error?.info ?? {};
    const reason = info.DeadLetterReason;
    const description = info.DeadLetterErrorDescription;
    const propertiesToModify: Record<string, unknown> = { ...info };
    delete propertiesToModify.DeadLetterReason;
    delete propertiesToModify.DeadLetterErrorDescription;
    settle(
      context.delivery,
      {
        kind: "deadLetter",
        reason: typeof reason === "string" ? reason : undefined,
        description: typeof description === "string" ? description : undefined,
        propertiesToModify,
      },
      // Echoed without the error: the SDK treats an error in the broker's outcome as a failed settlement.
      amqpMessage.rejected({}).described(),
    );
  });
}
