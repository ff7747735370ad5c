import { type Sender } from "rhea";
import { type Consumer, type ReceiveMode } from "./consumer.js";
import { linkInternals } from "./linkInternals.js";
import { lockTokenToDeliveryTag, newLockToken } from "./lockToken.js";
import { type QueueEntity, type QueueMessage, type QueueSession } from "./queue.js";
import { type OperationTally } from "../operationTally.js";

/** A client's receiver as a queue's `Consumer`: deliveries go out as transfers on the broker's sender link. */
export class LinkConsumer implements Consumer {
  session: QueueSession | undefined;
  closed = false;
  private sent = 0;

  constructor(
    readonly sender: Sender,
    readonly queue: QueueEntity,
    readonly mode: ReceiveMode,
    private readonly tally: OperationTally,
  ) {}

  capacity(): number {
    if (this.closed || !this.sender.is_open()) return 0;
    const link = linkInternals(this.sender);
    // Credit drops only when rhea writes a transfer; count what was handed over but not yet written.
    // (A drain advances delivery_count past what was sent.)
    if (link.delivery_count > this.sent) this.sent = link.delivery_count;
    const pending = this.sent - link.delivery_count;
    const outgoing = (this.sender.session as unknown as { outgoing: { available(): number } }).outgoing.available();
    return Math.min(link.credit - pending, outgoing);
  }

  deliver(message: QueueMessage, lockToken: string | undefined): void {
    const bytes = message.stored.encode({
      sequenceNumber: message.sequenceNumber,
      enqueuedAtMs: message.enqueuedAtMs,
      lockedUntilMs: message.lock?.lockedUntilMs,
      state: message.stateCode,
      deliveryCount: message.deliveryCount,
    });
    this.sent++;
    this.tally.count("receive");
    this.sender.send(bytes, lockTokenToDeliveryTag(lockToken ?? newLockToken()), 0);
  }

  sessionLost(): void {
    this.detach("com.microsoft:session-lock-lost", "The session lock expired: accept the session again.");
  }

  detach(condition: string, description: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.removeConsumer(this);
    this.sender.close({ condition, description });
  }
}
