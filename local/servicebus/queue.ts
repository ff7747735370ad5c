import { type Consumer, type ReceiveMode } from "./consumer.js";
import { ConsumerRotation } from "./consumerRotation.js";
import { MessageLocks } from "./messageLocks.js";
import { type StoredMessage } from "./messageCodec.js";
import { QueueMessage } from "./queueMessage.js";
import { type QueueSession } from "./queueSession.js";
import { QueueSessions, type SessionWaiter } from "./queueSessions.js";
import { ReadyList } from "./readyList.js";
import { ScheduledMessages } from "./scheduledMessages.js";
import { type Settlement } from "./settlement.js";

// The types of QueueEntity's interface, for its users (the broker, $management, tests).
export type { Consumer, ReceiveMode } from "./consumer.js";
export type { QueueMessage } from "./queueMessage.js";
export type { QueueSession } from "./queueSession.js";
export type { SessionWaiter } from "./queueSessions.js";
export type { Settlement } from "./settlement.js";

/**
 * One queue (or its dead-letter sub-queue): its messages and their hand-over to receivers,
 * settlement, scheduling and dead-lettering. Locks are `MessageLocks`, sessions `QueueSessions`.
 * Knows nothing of AMQP: a receiver is a `Consumer`, which the broker implements over a rhea link.
 */

export interface QueueSettings {
  readonly name: string;
  readonly requiresSession: boolean;
  readonly lockDurationInMs: number;
  readonly maxDeliveryCount: number;
}

export class QueueEntity {
  readonly deadLetterQueue: QueueEntity | undefined;
  private nextSequenceNumber = 1;
  private highestSequenceNumber = 0;
  private inOrder = true;
  private readonly messages = new Map<number, QueueMessage>();
  private readonly ready = new ReadyList<QueueMessage>();
  private readonly locks: MessageLocks;
  private readonly scheduled = new ScheduledMessages();
  private readonly consumers = new ConsumerRotation();
  private readonly sessions: QueueSessions;

  constructor(
    readonly settings: QueueSettings,
    private readonly now: () => number,
    isDeadLetterQueue = false,
  ) {
    this.locks = new MessageLocks(settings.lockDurationInMs, now);
    this.sessions = new QueueSessions(settings.lockDurationInMs, now, (message) => this.releaseLock(message));
    this.deadLetterQueue = isDeadLetterQueue
      ? undefined
      : new QueueEntity(
          {
            name: `${settings.name}/$DeadLetterQueue`,
            requiresSession: false,
            lockDurationInMs: settings.lockDurationInMs,
            maxDeliveryCount: Number.POSITIVE_INFINITY,
          },
          now,
          true,
        );
  }

  get depth(): number {
    return this.messages.size;
  }

  /** Why this queue refuses `message`, or undefined when it accepts it. */
  refusal(message: StoredMessage): string | undefined {
    if (this.settings.requiresSession && (message.sessionId === undefined || message.sessionId === "")) {
      return `The queue '${this.settings.name}' requires sessions: set a session id on every message sent to it.`;
    }
    return undefined;
  }

  /** Accepts a message; scheduled ones wait for their time. Returns its sequence number. */
  enqueue(stored: StoredMessage): number {
    const now = this.now();
    const message = new QueueMessage(this.nextSequenceNumber++, stored, now);
    this.insert(message);
    const at = stored.scheduledEnqueueTimeMs;
    if (at !== undefined && at > now) {
      message.state = "scheduled";
      message.enqueuedAtMs = at;
      this.scheduled.add(message);
    } else {
      this.makeAvailable(message);
    }
    return message.sequenceNumber;
  }

  /** Schedules a message for `atMs`, whatever its own annotation says. */
  schedule(stored: StoredMessage, atMs: number): number {
    const message = new QueueMessage(this.nextSequenceNumber++, stored, atMs);
    this.insert(message);
    if (atMs > this.now()) {
      message.state = "scheduled";
      this.scheduled.add(message);
    } else {
      this.makeAvailable(message);
    }
    return message.sequenceNumber;
  }

  /** Cancels scheduled messages; unknown or already enqueued ones are ignored, as Service Bus does. */
  cancelScheduled(sequenceNumbers: readonly number[]): void {
    for (const sequenceNumber of sequenceNumbers) {
      const message = this.messages.get(sequenceNumber);
      if (message?.state !== "scheduled") continue;
      this.scheduled.remove(message);
      this.messages.delete(sequenceNumber);
    }
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.add(consumer);
  }

  removeConsumer(consumer: Consumer): void {
    this.consumers.remove(consumer);
    this.sessions.forgetWaitsOf(consumer);
    const session = consumer.session;
    if (session && session.holder === consumer) {
      consumer.session = undefined;
      this.sessions.release(session);
    }
  }

  /** Hands messages to a consumer that has room (after a flow from its client). */
  pumpFor(consumer: Consumer): void {
    if (consumer.session) this.pumpSession(consumer.session);
    else this.pump();
  }

  settle(lockToken: string, settlement: Settlement): "ok" | "lockLost" {
    const message = this.locks.find(lockToken);
    const lock = message?.lock;
    if (!message || !lock) return "lockLost";
    if (!lock.session && lock.lockedUntilMs <= this.now()) {
      this.releaseLock(message);
      return "lockLost";
    }
    switch (settlement.kind) {
      case "complete":
        this.remove(message);
        break;
      case "abandon":
        if (settlement.propertiesToModify) message.stored.updateApplicationProperties(settlement.propertiesToModify);
        this.releaseLock(message);
        break;
      case "defer":
        if (settlement.propertiesToModify) message.stored.updateApplicationProperties(settlement.propertiesToModify);
        this.locks.unlock(message);
        message.state = "deferred";
        break;
      case "deadLetter":
        this.moveToDeadLetter(message, settlement.reason, settlement.description, settlement.propertiesToModify);
        break;
    }
    return "ok";
  }

  /** Extends a message lock; undefined when the lock is gone. */
  renewLock(lockToken: string): number | undefined {
    const message = this.locks.find(lockToken);
    const lock = message?.lock;
    if (!message || !lock) return undefined;
    if (lock.session) return lock.session.lockedUntilMs;
    if (lock.lockedUntilMs <= this.now()) {
      this.releaseLock(message);
      return undefined;
    }
    return this.locks.extend(message);
  }

  /** Messages from `fromSequenceNumber` on, in order, whatever their state (peek). */
  peek(fromSequenceNumber: number, count: number, sessionId: string | undefined): QueueMessage[] {
    const found: QueueMessage[] = [];
    for (const message of this.messages.values()) {
      if (message.sequenceNumber < fromSequenceNumber) continue;
      if (sessionId !== undefined && message.sessionId !== sessionId) continue;
      found.push(message);
      if (this.inOrder && found.length >= count) break;
    }
    if (!this.inOrder) found.sort((a, b) => a.sequenceNumber - b.sequenceNumber);
    return found.slice(0, count);
  }

  /**
   * Receives deferred messages by sequence number. Throws `not-found` when one is not a deferred
   * message of this queue (and session). Returns each with its lock token (peekLock).
   */
  receiveDeferred(
    sequenceNumbers: readonly number[],
    mode: ReceiveMode,
    sessionId: string | undefined,
  ): { message: QueueMessage; lockToken: string | undefined }[] {
    const found: QueueMessage[] = [];
    for (const sequenceNumber of sequenceNumbers) {
      const message = this.messages.get(sequenceNumber);
      if (!message || message.state !== "deferred" || (sessionId !== undefined && message.sessionId !== sessionId)) {
        throw new Error(`not-found:${sequenceNumber}`);
      }
      if (message.lock && message.lock.lockedUntilMs > this.now()) throw new Error(`locked:${sequenceNumber}`);
      found.push(message);
    }
    return found.map((message) => {
      if (message.lock) this.locks.unlock(message);
      if (mode === "receiveAndDelete") {
        this.remove(message);
        return { message, lockToken: undefined };
      }
      return { message, lockToken: this.locks.lock(message, undefined) };
    });
  }

  /** Takes the named session for `consumer`; undefined when another consumer holds it. */
  acquireSession(sessionId: string, consumer: Consumer): QueueSession | undefined {
    return this.sessions.acquire(sessionId, consumer);
  }

  /** Takes the unheld session with the oldest waiting message, if any. */
  acquireNextSession(consumer: Consumer): QueueSession | undefined {
    return this.sessions.acquireNext(consumer);
  }

  waitForSession(waiter: SessionWaiter): void {
    this.sessions.wait(waiter);
  }

  renewSessionLock(sessionId: string): number | undefined {
    return this.sessions.renewLock(sessionId);
  }

  getSessionState(sessionId: string): Buffer | undefined {
    return this.sessions.get(sessionId)?.state;
  }

  setSessionState(sessionId: string, state: Buffer | undefined): void {
    this.sessions.setState(sessionId, state);
  }

  /** Expires locks, session locks and waits for sessions; enqueues scheduled messages that are due. */
  sweep(): void {
    const now = this.now();
    for (const message of this.locks.expired(now)) this.releaseLock(message);
    for (const message of this.scheduled.takeDue(now)) {
      message.state = "active";
      this.makeAvailable(message);
    }
    this.sessions.sweep(now);
    this.deadLetterQueue?.sweep();
  }

  /** Gives up every wait for a session (the broker is stopping). */
  cancelWaits(): void {
    this.sessions.cancelWaits();
  }

  private insert(message: QueueMessage): void {
    if (message.sequenceNumber < this.highestSequenceNumber) this.inOrder = false;
    this.highestSequenceNumber = Math.max(this.highestSequenceNumber, message.sequenceNumber);
    this.messages.set(message.sequenceNumber, message);
  }

  private makeAvailable(message: QueueMessage): void {
    if (this.settings.requiresSession) {
      const session = this.sessions.sessionFor(message.sessionId ?? "");
      session.ready.add(message);
      if (session.holder) this.pumpSession(session);
      else this.sessions.offer();
    } else {
      this.ready.add(message);
      this.pump();
    }
  }

  private pump(): void {
    this.consumers.pump(this.ready, (consumer, message) => this.deliver(consumer, message, undefined));
  }

  private pumpSession(session: QueueSession): void {
    const holder = session.holder;
    if (!holder) return;
    while (session.ready.size > 0 && session.holder === holder && holder.capacity() > 0) {
      const message = session.ready.shift();
      if (message) this.deliver(holder, message, session);
    }
  }

  private deliver(consumer: Consumer, message: QueueMessage, session: QueueSession | undefined): void {
    if (consumer.mode === "receiveAndDelete") {
      this.remove(message);
      consumer.deliver(message, undefined);
      return;
    }
    consumer.deliver(message, this.locks.lock(message, session));
  }

  private remove(message: QueueMessage): void {
    const session = message.lock?.session;
    this.locks.unlock(message);
    this.messages.delete(message.sequenceNumber);
    if (session) this.sessions.forgetIfIdle(session);
  }

  /** A delivery that failed (abandoned, lock lost): count it, then redeliver or dead-letter. */
  private releaseLock(message: QueueMessage): void {
    this.locks.unlock(message);
    message.deliveryCount++;
    if (message.deliveryCount >= this.settings.maxDeliveryCount) {
      this.moveToDeadLetter(
        message,
        "MaxDeliveryCountExceeded",
        `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`,
        undefined,
      );
      return;
    }
    if (message.state === "active") this.makeAvailable(message);
  }

  private moveToDeadLetter(
    message: QueueMessage,
    reason: string | undefined,
    description: string | undefined,
    propertiesToModify: Readonly<Record<string, unknown>> | undefined,
  ): void {
    const target = this.deadLetterQueue;
    if (!target) {
      // Already in the dead-letter queue: it stays there, available again.
      this.locks.unlock(message);
      if (message.state === "active") this.makeAvailable(message);
      return;
    }
    this.remove(message);
    message.stored.updateApplicationProperties({
      ...propertiesToModify,
      DeadLetterReason: reason,
      DeadLetterErrorDescription: description,
    });
    message.state = "active";
    target.insert(message);
    target.makeAvailable(message);
  }
}
