import { type QueueMessage } from "./queueMessage.js";
import { type QueueSession } from "./queueSession.js";

export type ReceiveMode = "peekLock" | "receiveAndDelete";

/** A receiver as a queue sees it; the broker implements it over a rhea link (`LinkConsumer`). */
export interface Consumer {
  readonly mode: ReceiveMode;
  /** The session this consumer holds (session queues only); set by the queue. */
  session: QueueSession | undefined;
  /** How many more messages the consumer can take now. */
  capacity(): number;
  deliver(message: QueueMessage, lockToken: string | undefined): void;
  /** The consumer's session lock expired: the broker detaches it. */
  sessionLost(): void;
}
