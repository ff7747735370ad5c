import { newLockToken } from "./lockToken.js";
import { type StoredMessage } from "./messageCodec.js";
import { ReadyList } from "./readyList.js";

/**
 * One queue (or its dead-letter sub-queue): messages, locks, sessions and the hand-over of
 * messages to receivers. Knows nothing of AMQP: a receiver is a `Consumer`, which the broker
 * implements over a rhea link.
 */

export type ReceiveMode = "peekLock" | "receiveAndDelete";

export interface QueueSettings {
  readonly name: string;
  readonly requiresSession: boolean;
  readonly lockDurationInMs: number;
  readonly maxDeliveryCount: number;
}

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

export interface MessageLock {
  readonly token: string;
  lockedUntilMs: number;
  /** Set when the lock is bound to a session lock rather than timed on its own. */
  readonly session: QueueSession | undefined;
}

export class QueueMessage {
  state: "active" | "deferred" | "scheduled" = "active";
  deliveryCount = 0;
  lock: MessageLock | undefined;

  constructor(
    readonly sequenceNumber: number,
    readonly stored: StoredMessage,
    public enqueuedAtMs: number,
  ) {}

  get sessionId(): string | undefined {
    return this.stored.sessionId;
  }

  /** 0 active, 1 deferred, 2 scheduled, as x-opt-message-state says it. */
  get stateCode(): number {
    return this.state === "deferred" ? 1 : this.state === "scheduled" ? 2 : 0;
  }
}

export class QueueSession {
  readonly ready = new ReadyList<QueueMessage>();
  readonly locked = new Set<QueueMessage>();
  holder: Consumer | undefined;
  lockedUntilMs = 0;
  state: Buffer | undefined;

  constructor(readonly id: string) {}
}

export type Settlement =
  | { readonly kind: "complete" }
  | { readonly kind: "abandon"; readonly propertiesToModify?: Readonly<Record<string, unknown>> }
  | { readonly kind: "defer"; readonly propertiesToModify?: Readonly<Record<string, unknown>> }
  | {
      readonly kind: "deadLetter";
      readonly reason?: string;
      readonly description?: string;
      readonly propertiesToModify?: Readonly<Record<string, unknown>>;
    };

export interface SessionWaiter {
  readonly consumer: Consumer;
  readonly deadlineMs: number;
  onSession(session: QueueSession): void;
  onTimeout(): void;
}

export class QueueEntity {
  readonly deadLetterQueue: QueueEntity | undefined;
  private nextSequenceNumber = 1;
  private highestSequenceNumber = 0;
  private inOrder = true;
  private readonly messages = new Map<number, QueueMessage>();
  private readonly ready = new ReadyList<QueueMessage>();
  private readonly locks = new Map<string, QueueMessage>();
  /** Timed locks in expiry order: every lock lasts lockDurationInMs, and a renewal moves it to the end. */
  private readonly expiring = new Map<string, QueueMessage>();
  private readonly scheduled: QueueMessage[] = [];
  private readonly consumers: Consumer[] = [];
  private readonly sessions = new Map<string, QueueSession>();
  private waiters: SessionWaiter[] = [];
  private roundRobin = 0;
  private pumping = false;

  constructor(
    readonly settings: QueueSettings,
    private readonly now: () => number,
    isDeadLetterQueue = false,
  ) {
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
      this.addScheduled(message);
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
      this.addScheduled(message);
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
      const at = this.scheduled.indexOf(message);
      if (at >= 0) this.scheduled.splice(at, 1);
      this.messages.delete(sequenceNumber);
    }
  }

  addConsumer(consumer: Consumer): void {
    if (!this.consumers.includes(consumer)) this.consumers.push(consumer);
  }

  removeConsumer(consumer: Consumer): void {
    const at = this.consumers.indexOf(consumer);
    if (at >= 0) this.consumers.splice(at, 1);
    this.waiters = this.waiters.filter((waiter) => waiter.consumer !== consumer);
    const session = consumer.session;
    if (session && session.holder === consumer) {
      consumer.session = undefined;
      this.releaseSession(session);
    }
  }

  /** Hands messages to a consumer that has room (after a flow from its client). */
  pumpFor(consumer: Consumer): void {
    if (consumer.session) this.pumpSession(consumer.session);
    else this.pump();
  }

  settle(lockToken: string, settlement: Settlement): "ok" | "lockLost" {
    const message = this.locks.get(lockToken);
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
        this.unlock(message);
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
    const message = this.locks.get(lockToken);
    const lock = message?.lock;
    if (!message || !lock) return undefined;
    if (lock.session) return lock.session.lockedUntilMs;
    const now = this.now();
    if (lock.lockedUntilMs <= now) {
      this.releaseLock(message);
      return undefined;
    }
    lock.lockedUntilMs = now + this.settings.lockDurationInMs;
    this.expiring.delete(lockToken);
    this.expiring.set(lockToken, message);
    return lock.lockedUntilMs;
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
      if (message.lock) this.unlock(message);
      if (mode === "receiveAndDelete") {
        this.remove(message);
        return { message, lockToken: undefined };
      }
      return { message, lockToken: this.lock(message, undefined) };
    });
  }

  /** Takes the named session for `consumer`; false when another consumer holds it. */
  acquireSession(sessionId: string, consumer: Consumer): QueueSession | undefined {
    const session = this.sessionFor(sessionId);
    if (session.holder && session.holder !== consumer) return undefined;
    this.hold(session, consumer);
    return session;
  }

  /** Takes the unheld session with the oldest waiting message, if any. */
  acquireNextSession(consumer: Consumer): QueueSession | undefined {
    const session = this.nextAvailableSession();
    if (session) this.hold(session, consumer);
    return session;
  }

  waitForSession(waiter: SessionWaiter): void {
    this.waiters.push(waiter);
  }

  renewSessionLock(sessionId: string): number | undefined {
    const session = this.sessions.get(sessionId);
    if (!session?.holder) return undefined;
    session.lockedUntilMs = this.now() + this.settings.lockDurationInMs;
    for (const message of session.locked) if (message.lock) message.lock.lockedUntilMs = session.lockedUntilMs;
    return session.lockedUntilMs;
  }

  getSessionState(sessionId: string): Buffer | undefined {
    return this.sessions.get(sessionId)?.state;
  }

  setSessionState(sessionId: string, state: Buffer | undefined): void {
    const session = this.sessionFor(sessionId);
    session.state = state;
    this.forgetIfIdle(session);
  }

  /** Expires locks, session locks and waits for sessions; enqueues scheduled messages that are due. */
  sweep(): void {
    const now = this.now();
    for (const message of this.expiring.values()) {
      if (!message.lock || message.lock.lockedUntilMs > now) break;
      this.releaseLock(message);
    }
    while (this.scheduled.length > 0 && (this.scheduled[0]?.enqueuedAtMs ?? Infinity) <= now) {
      const message = this.scheduled.shift();
      if (!message) break;
      message.state = "active";
      this.makeAvailable(message);
    }
    for (const session of this.sessions.values()) {
      const holder = session.holder;
      if (holder && session.lockedUntilMs <= now) {
        holder.session = undefined;
        this.releaseSession(session);
        holder.sessionLost();
      }
    }
    if (this.waiters.some((waiter) => waiter.deadlineMs <= now)) {
      const expired = this.waiters.filter((waiter) => waiter.deadlineMs <= now);
      this.waiters = this.waiters.filter((waiter) => waiter.deadlineMs > now);
      for (const waiter of expired) waiter.onTimeout();
    }
    this.deadLetterQueue?.sweep();
  }

  /** Gives up every wait for a session (the broker is stopping). */
  cancelWaits(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.onTimeout();
  }

  private insert(message: QueueMessage): void {
    if (message.sequenceNumber < this.highestSequenceNumber) this.inOrder = false;
    this.highestSequenceNumber = Math.max(this.highestSequenceNumber, message.sequenceNumber);
    this.messages.set(message.sequenceNumber, message);
  }

  private addScheduled(message: QueueMessage): void {
    let at = this.scheduled.length;
    while (at > 0 && (this.scheduled[at - 1]?.enqueuedAtMs ?? 0) > message.enqueuedAtMs) at--;
    this.scheduled.splice(at, 0, message);
  }

  private sessionFor(sessionId: string): QueueSession {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = new QueueSession(sessionId);
      this.sessions.set(sessionId, session);
    }
    return session;
  }

  private hold(session: QueueSession, consumer: Consumer): void {
    session.holder = consumer;
    session.lockedUntilMs = this.now() + this.settings.lockDurationInMs;
    consumer.session = session;
  }

  private nextAvailableSession(): QueueSession | undefined {
    let best: QueueSession | undefined;
    for (const session of this.sessions.values()) {
      if (session.holder || session.ready.size === 0) continue;
      const first = session.ready.peekFirst()?.sequenceNumber ?? Infinity;
      if (!best || first < (best.ready.peekFirst()?.sequenceNumber ?? Infinity)) best = session;
    }
    return best;
  }

  private offerSessions(): void {
    while (this.waiters.length > 0) {
      const session = this.nextAvailableSession();
      if (!session) return;
      const waiter = this.waiters.shift();
      if (!waiter) return;
      this.hold(session, waiter.consumer);
      waiter.onSession(session);
    }
  }

  private releaseSession(session: QueueSession): void {
    session.holder = undefined;
    for (const message of [...session.locked]) this.releaseLock(message);
    this.forgetIfIdle(session);
    this.offerSessions();
  }

  private forgetIfIdle(session: QueueSession): void {
    if (!session.holder && session.ready.size === 0 && session.locked.size === 0 && session.state === undefined) {
      this.sessions.delete(session.id);
    }
  }

  private makeAvailable(message: QueueMessage): void {
    if (this.settings.requiresSession) {
      const session = this.sessionFor(message.sessionId ?? "");
      session.ready.add(message);
      if (session.holder) this.pumpSession(session);
      else this.offerSessions();
    } else {
      this.ready.add(message);
      this.pump();
    }
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let progress = true;
      while (this.ready.size > 0 && progress && this.consumers.length > 0) {
        progress = false;
        const count = this.consumers.length;
        for (let i = 0; i < count && this.ready.size > 0; i++) {
          const consumer = this.consumers[(this.roundRobin + i) % count];
          if (!consumer || consumer.capacity() <= 0) continue;
          const message = this.ready.shift();
          if (message) this.deliver(consumer, message, undefined);
          progress = true;
        }
        this.roundRobin = (this.roundRobin + 1) % Math.max(1, this.consumers.length);
      }
    } finally {
      this.pumping = false;
    }
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
    consumer.deliver(message, this.lock(message, session));
  }

  private lock(message: QueueMessage, session: QueueSession | undefined): string {
    const token = newLockToken();
    message.lock = {
      token,
      lockedUntilMs: session ? session.lockedUntilMs : this.now() + this.settings.lockDurationInMs,
      session,
    };
    this.locks.set(token, message);
    if (session) session.locked.add(message);
    else this.expiring.set(token, message);
    return token;
  }

  private unlock(message: QueueMessage): void {
    const lock = message.lock;
    if (!lock) return;
    message.lock = undefined;
    this.locks.delete(lock.token);
    this.expiring.delete(lock.token);
    lock.session?.locked.delete(message);
  }

  private remove(message: QueueMessage): void {
    const session = message.lock?.session;
    this.unlock(message);
    this.messages.delete(message.sequenceNumber);
    if (session) this.forgetIfIdle(session);
  }

  /** A delivery that failed (abandoned, lock lost): count it, then redeliver or dead-letter. */
  private releaseLock(message: QueueMessage): void {
    this.unlock(message);
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
      this.unlock(message);
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
