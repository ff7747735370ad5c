import { type Consumer } from "./consumer.js";
import { type QueueMessage } from "./queueMessage.js";
import { QueueSession } from "./queueSession.js";

export interface SessionWaiter {
  readonly consumer: Consumer;
  readonly deadlineMs: number;
  onSession(session: QueueSession): void;
  onTimeout(): void;
}

/**
 * A session queue's sessions: which receiver holds which (and until when), their state, and the
 * receivers waiting for any session (accept-next-session). A session is forgotten once it is idle:
 * no holder, no messages, no state.
 */
export class QueueSessions {
  private readonly sessions = new Map<string, QueueSession>();
  private waiters: SessionWaiter[] = [];

  constructor(
    private readonly lockDurationInMs: number,
    private readonly now: () => number,
    /** Gives a locked message back to the queue when its session is released. */
    private readonly releaseMessage: (message: QueueMessage) => void,
  ) {}

  get(sessionId: string): QueueSession | undefined {
    return this.sessions.get(sessionId);
  }

  sessionFor(sessionId: string): QueueSession {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = new QueueSession(sessionId);
      this.sessions.set(sessionId, session);
    }
    return session;
  }

  /** Takes the named session for `consumer`; undefined when another consumer holds it. */
  acquire(sessionId: string, consumer: Consumer): QueueSession | undefined {
    const session = this.sessionFor(sessionId);
    if (session.holder && session.holder !== consumer) return undefined;
    this.hold(session, consumer);
    return session;
  }

  /** Takes the unheld session with the oldest waiting message, if any. */
  acquireNext(consumer: Consumer): QueueSession | undefined {
    const session = this.nextAvailable();
    if (session) this.hold(session, consumer);
    return session;
  }

  wait(waiter: SessionWaiter): void {
    this.waiters.push(waiter);
  }

  forgetWaitsOf(consumer: Consumer): void {
    this.waiters = this.waiters.filter((waiter) => waiter.consumer !== consumer);
  }

  renewLock(sessionId: string): number | undefined {
    const session = this.sessions.get(sessionId);
    if (!session?.holder) return undefined;
    session.lockedUntilMs = this.now() + this.lockDurationInMs;
    for (const message of session.locked) if (message.lock) message.lock.lockedUntilMs = session.lockedUntilMs;
    return session.lockedUntilMs;
  }

  setState(sessionId: string, state: Buffer | undefined): void {
    const session = this.sessionFor(sessionId);
    session.state = state;
    this.forgetIfIdle(session);
  }

  /** The holder let go (or lost the lock): its locked messages go back, and a waiter may take a session. */
  release(session: QueueSession): void {
    session.holder = undefined;
    for (const message of [...session.locked]) this.releaseMessage(message);
    this.forgetIfIdle(session);
    this.offer();
  }

  forgetIfIdle(session: QueueSession): void {
    if (!session.holder && session.ready.size === 0 && session.locked.size === 0 && session.state === undefined) {
      this.sessions.delete(session.id);
    }
  }

  /** Hands available sessions to waiting receivers, oldest wait first. */
  offer(): void {
    while (this.waiters.length > 0) {
      const session = this.nextAvailable();
      if (!session) return;
      const waiter = this.waiters.shift();
      if (!waiter) return;
      this.hold(session, waiter.consumer);
      waiter.onSession(session);
    }
  }

  /** Ends expired session locks (their holders lose them) and waits past their deadline. */
  sweep(nowMs: number): void {
    for (const session of this.sessions.values()) {
      const holder = session.holder;
      if (holder && session.lockedUntilMs <= nowMs) {
        holder.session = undefined;
        this.release(session);
        holder.sessionLost();
      }
    }
    if (this.waiters.some((waiter) => waiter.deadlineMs <= nowMs)) {
      const expired = this.waiters.filter((waiter) => waiter.deadlineMs <= nowMs);
      this.waiters = this.waiters.filter((waiter) => waiter.deadlineMs > nowMs);
      for (const waiter of expired) waiter.onTimeout();
    }
  }

  /** Gives up every wait for a session (the broker is stopping). */
  cancelWaits(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.onTimeout();
  }

  private hold(session: QueueSession, consumer: Consumer): void {
    session.holder = consumer;
    session.lockedUntilMs = this.now() + this.lockDurationInMs;
    consumer.session = session;
  }

  private nextAvailable(): QueueSession | undefined {
    let best: QueueSession | undefined;
    for (const session of this.sessions.values()) {
      if (session.holder || session.ready.size === 0) continue;
      const first = session.ready.peekFirst()?.sequenceNumber ?? Infinity;
      if (!best || first < (best.ready.peekFirst()?.sequenceNumber ?? Infinity)) best = session;
    }
    return best;
  }
}
