import { type ProcessErrorArgs, type ServiceBusReceivedMessage, type ServiceBusSessionReceiver } from "@azure/service-bus";

export interface StreamSessionOptions {
  readonly receiver: ServiceBusSessionReceiver;
  /** The most messages handed to one invocation (host.json `maxMessageBatchSize`); twice it is the link's credit. */
  readonly maxBatchSize: number;
  /**
   * Fewer messages than this wait up to `maxBatchWaitInMs` (from the first one's arrival) for more
   * before the function gets them (host.json `minMessageBatchSize` and `maxBatchWaitTime`; 1: none wait).
   */
  readonly minBatchSize: number;
  readonly maxBatchWaitInMs: number;
  /** Let the session go after this long without a message (host.json `sessionIdleTimeout`). */
  readonly idleTimeoutInMs: number;
  readonly abortSignal: AbortSignal;
  /** Runs the function on one batch and settles it; resolves false when the function failed (the batch abandoned). */
  readonly invoke: (messages: ServiceBusReceivedMessage[]) => Promise<boolean>;
  readonly log: (line: string) => void;
}

interface Delivered {
  readonly message: ServiceBusReceivedMessage;
  /** Ends the SDK's handler for this message, which gives its credit back to the link. */
  readonly release: () => void;
}

/**
 * Holds one session and hands its messages to the function as they arrive, one invocation at a time
 * (the session's order): once `minBatchSize` are waiting, or the first of them has waited
 * `maxBatchWaitInMs`, they go (up to `maxBatchSize`), as the Functions host dispatches a batch; what
 * arrives while the function runs makes the next batch. The link keeps its credit open meanwhile, so
 * an idle session costs no round trip and no timer but the idle timeout's; a receive loop with a short
 * wait (as this host had) paid a credit and a drain round trip every wait.
 *
 * Resolves when the session must be let go: idle for `idleTimeoutInMs`, the function failed (its batch
 * abandoned; the messages delivered behind it go back with the session, so its order holds when the
 * session is accepted again), the receiver broke, or the host stops. The caller closes the receiver.
 */
export function streamSession(options: StreamSessionOptions): Promise<void> {
  const { receiver, maxBatchSize, idleTimeoutInMs, abortSignal } = options;
  return new Promise<void>((resolve) => {
    const waiting: Delivered[] = [];
    let invoking = false;
    // The invocation running now, with its settlement: an end (a stop, say) waits for it, so the
    // receiver is not closed under its completions (which would leave appended messages to redeliver).
    let invocation: Promise<boolean> = Promise.resolve(true);
    let pumpScheduled = false;
    let batchWaitTimer: NodeJS.Timeout | undefined;
    let ended = false;
    let lastMessageAtInMs = Date.now();
    let idleTimer: NodeJS.Timeout | undefined;
    // Set once subscribed; an end before that (a stop) has nothing to close.
    const link: { subscription?: { close(): Promise<void> } } = {};

    const end = (): void => {
      if (ended) return;
      ended = true;
      clearTimeout(idleTimer);
      clearTimeout(batchWaitTimer);
      abortSignal.removeEventListener("abort", end);
      // Stop the credit first, then end the handlers of what was delivered but not invoked: those
      // messages stay locked to this receiver and go back to the queue when it closes.
      const closing = link.subscription?.close().catch(() => undefined) ?? Promise.resolve();
      void Promise.all([closing, invocation]).then(() => {
        for (const delivered of waiting.splice(0)) delivered.release();
        resolve();
      });
    };

    // One timer for the idle timeout, moved on only when it fires (not re-armed per message).
    const watchIdle = (delayInMs: number): void => {
      idleTimer = setTimeout(() => {
        if (ended) return;
        if (receiver.isClosed) return end();
        const idleForInMs = Date.now() - lastMessageAtInMs;
        if (!invoking && waiting.length === 0 && idleForInMs >= idleTimeoutInMs) return end();
        watchIdle(Math.max(1, idleTimeoutInMs - idleForInMs));
      }, delayInMs);
    };

    const pump = async (): Promise<void> => {
      pumpScheduled = false;
      if (invoking || ended || waiting.length === 0) return;
      // A short batch waits for more, until the first message of it has waited long enough.
      if (waiting.length < options.minBatchSize && batchWaitTimer !== undefined) return;
      clearTimeout(batchWaitTimer);
      batchWaitTimer = undefined;
      invoking = true;
      const batch = waiting.splice(0, maxBatchSize);
      invocation = options.invoke(batch.map((delivered) => delivered.message)).catch(() => false);
      const succeeded = await invocation;
      for (const delivered of batch) delivered.release();
      invoking = false;
      lastMessageAtInMs = Date.now();
      if (!succeeded) return end();
      if (waiting.length > 0) startBatch();
    };
    // The first message of a batch: it goes at once, or (with a minimum batch) after the batch wait.
    const startBatch = (): void => {
      if (options.minBatchSize > 1 && waiting.length < options.minBatchSize) {
        batchWaitTimer = setTimeout(() => {
          batchWaitTimer = undefined;
          schedulePump();
        }, options.maxBatchWaitInMs);
      }
      schedulePump();
    };
    // After this turn's I/O: the messages of one read (or of several reads that arrived together) make one batch.
    const schedulePump = (): void => {
      if (pumpScheduled || ended) return;
      pumpScheduled = true;
      setImmediate(() => void pump());
    };

    const processMessage = (message: ServiceBusReceivedMessage): Promise<void> =>
      new Promise<void>((release) => {
        if (ended) return release();
        waiting.push({ message, release });
        lastMessageAtInMs = Date.now();
        if (waiting.length === 1 && !invoking) startBatch();
        else if (waiting.length >= options.minBatchSize) schedulePump();
      });
    const processError = async (args: ProcessErrorArgs): Promise<void> => {
      if (ended) return;
      // The session receiver does not reconnect: a lost link or lock ends this hold of the session.
      options.log(`session ${receiver.sessionId}: ${args.errorSource} error, letting the session go: ${args.error.name}: ${args.error.message}`);
      end();
    };

    abortSignal.addEventListener("abort", end, { once: true });
    if (abortSignal.aborted) return end();
    watchIdle(idleTimeoutInMs);
    link.subscription = receiver.subscribe({ processMessage, processError }, { autoCompleteMessages: false, maxConcurrentCalls: 2 * maxBatchSize });
  });
}
