import { type Consumer } from "./consumer.js";
import { type QueueMessage } from "./queueMessage.js";
import { type ReadyList } from "./readyList.js";

/** The receivers of a plain (sessionless) queue, served in turn so each gets its share. */
export class ConsumerRotation {
  private readonly consumers: Consumer[] = [];
  private turn = 0;
  private pumping = false;

  add(consumer: Consumer): void {
    if (!this.consumers.includes(consumer)) this.consumers.push(consumer);
  }

  remove(consumer: Consumer): void {
    const at = this.consumers.indexOf(consumer);
    if (at >= 0) this.consumers.splice(at, 1);
  }

  /** Hands `ready` messages to consumers with room, in turn, until none has room or none is left. */
  pump(ready: ReadyList<QueueMessage>, deliver: (consumer: Consumer, message: QueueMessage) => void): void {
    // A delivery can make a message available again (and so pump): the outer pump serves it.
    if (this.pumping) return;
    this.pumping = true;
    try {
      let progress = true;
      while (ready.size > 0 && progress && this.consumers.length > 0) {
        progress = false;
        const count = this.consumers.length;
        for (let i = 0; i < count && ready.size > 0; i++) {
          const consumer = this.consumers[(this.turn + i) % count];
          if (!consumer || consumer.capacity() <= 0) continue;
          const message = ready.shift();
          if (message) deliver(consumer, message);
          progress = true;
        }
        this.turn = (this.turn + 1) % Math.max(1, this.consumers.length);
      }
    } finally {
      this.pumping = false;
    }
  }
}
