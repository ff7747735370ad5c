import { newLockToken } from "./lockToken.js";
import { type QueueMessage } from "./queueMessage.js";
import { type QueueSession } from "./queueSession.js";

/**
 * The locks a queue's receivers hold on its messages, by lock token. A lock in a session lasts as
 * long as the session lock; any other is timed on its own, and those are also kept in expiry order
 * (every lock lasts the queue's lock duration, and a renewal moves it to the end).
 */
export class MessageLocks {
  private readonly byToken = new Map<string, QueueMessage>();
  private readonly expiring = new Map<string, QueueMessage>();

  constructor(
    private readonly lockDurationInMs: number,
    private readonly now: () => number,
  ) {}

  /** Locks `message` for a receiver and returns the new lock token. */
  lock(message: QueueMessage, session: QueueSession | undefined): string {
    const token = newLockToken();
    message.lock = {
      token,
      lockedUntilMs: session ? session.lockedUntilMs : this.now() + this.lockDurationInMs,
      session,
    };
    this.byToken.set(token, message);
    if (session) session.locked.add(message);
    else this.expiring.set(token, message);
    return token;
  }

  unlock(message: QueueMessage): void {
    const lock = message.lock;
    if (!lock) return;
    message.lock = undefined;
    this.byToken.delete(lock.token);
    this.expiring.delete(lock.token);
    lock.session?.locked.delete(message);
  }

  /** The locked message with this token, if its lock still exists (it may have expired). */
  find(token: string): QueueMessage | undefined {
    const message = this.byToken.get(token);
    return message?.lock ? message : undefined;
  }

  /** Extends a timed lock by the lock duration from now; returns its new expiry. */
  extend(message: QueueMessage): number {
    const lock = message.lock;
    if (!lock) throw new Error("extend() needs a locked message");
    lock.lockedUntilMs = this.now() + this.lockDurationInMs;
    this.expiring.delete(lock.token);
    this.expiring.set(lock.token, message);
    return lock.lockedUntilMs;
  }

  /** Messages whose timed lock expired by `nowMs`, oldest first. */
  expired(nowMs: number): QueueMessage[] {
    const found: QueueMessage[] = [];
    for (const message of this.expiring.values()) {
      if (!message.lock || message.lock.lockedUntilMs > nowMs) break;
      found.push(message);
    }
    return found;
  }
}
