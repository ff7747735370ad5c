import { type QueueMessage } from "./queueMessage.js";

/** Scheduled messages in the order they become due (their enqueue time). */
export class ScheduledMessages {
  private readonly messages: QueueMessage[] = [];

  add(message: QueueMessage): void {
    let at = this.messages.length;
    while (at > 0 && (this.messages[at - 1]?.enqueuedAtMs ?? 0) > message.enqueuedAtMs) at--;
    this.messages.splice(at, 0, message);
  }

  remove(message: QueueMessage): void {
    const at = this.messages.indexOf(message);
    if (at >= 0) this.messages.splice(at, 1);
  }

  /** Removes and returns the messages due by `nowMs`, in order. */
  takeDue(nowMs: number): QueueMessage[] {
    let count = 0;
    while (count < this.messages.length && (this.messages[count]?.enqueuedAtMs ?? Infinity) <= nowMs) count++;
    return this.messages.splice(0, count);
  }
}
