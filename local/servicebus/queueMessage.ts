import { type StoredMessage } from "./messageCodec.js";
import { type QueueSession } from "./queueSession.js";

export interface MessageLock {
  readonly token: string;
  lockedUntilMs: number;
  /** Set when the lock is bound to a session lock rather than timed on its own. */
  readonly session: QueueSession | undefined;
}

/** A message held by a queue: its place (sequence number), state, deliveries and lock. */
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
