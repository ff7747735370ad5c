import { type Consumer } from "./consumer.js";
import { type QueueMessage } from "./queueMessage.js";
import { ReadyList } from "./readyList.js";

/** One session of a session queue: its waiting and locked messages, its holder and lock, its state. */
export class QueueSession {
  readonly ready = new ReadyList<QueueMessage>();
  readonly locked = new Set<QueueMessage>();
  holder: Consumer | undefined;
  lockedUntilMs = 0;
  state: Buffer | undefined;

  constructor(readonly id: string) {}
}
