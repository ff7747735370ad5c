/**
 * Messages the audit trigger can never append (undecodable, or not a valid event), kept with the reason
 * until an operator replays or deletes them. This is the audit pipeline's dead-letter store: the trigger
 * writes here itself, then lets the host complete the message, so it works the same on every host (the
 * Azure Functions Node host cannot dead-letter one message of a batch with a reason without preview SDK
 * bindings). See docs/audit.md.
 */
export interface DeadLetter {
  /** The broker's message id (the event id when the publisher set it). */
  readonly messageId: string;
  /** The session id, i.e. the chain the message was meant for, when known. */
  readonly chainId?: string;
  /** Why it can never be appended: names fields, never values. */
  readonly reason: string;
  /** The body as delivered. */
  readonly body: Uint8Array;
  readonly deliveryCount?: number;
  readonly enqueuedTimeUtc?: string;
}

export interface StoredDeadLetter extends DeadLetter {
  readonly deadLetteredAt: string;
  /** Size and SHA-256 (hex) of the whole body; `body` holds a prefix when `bodyTruncated`. */
  readonly bodyBytes: number;
  readonly bodySha256: string;
  readonly bodyTruncated: boolean;
}

export interface DeadLetterOptions {
  readonly abortSignal?: AbortSignal;
}

export interface AuditDeadLetters {
  /** Stores each message with its reason. Idempotent per (chain, message id): a redelivery stores nothing new. */
  put(letters: readonly DeadLetter[], options?: DeadLetterOptions): Promise<void>;
  /** Every stored dead letter (all chains). */
  list(options?: DeadLetterOptions): AsyncIterable<StoredDeadLetter>;
}
