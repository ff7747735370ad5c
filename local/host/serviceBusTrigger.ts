import { type ServiceBusQueueFunctionOptions } from "@azure/functions";
import { type ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver, type ServiceBusSessionReceiver } from "@azure/service-bus";
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { InvocationContext } from "./functionsRuntime.js";
import { parseBodiesInSlices } from "./parseBodiesInSlices.js";
import { streamSession } from "./streamSession.js";

export interface ServiceBusTriggerOptions {
  readonly name: string;
  readonly options: ServiceBusQueueFunctionOptions;
  readonly queueName: string;
  readonly client: ServiceBusClient;
  readonly maxMessagesPerBatch?: number;
  /** host.json `minMessageBatchSize` and `maxBatchWaitTime`: a smaller batch waits that long for more (sessions). */
  readonly minMessagesPerBatch?: number;
  readonly maxBatchWaitTimeInMs?: number;
  readonly maxConcurrentSessions?: number;
  /** How long a session receiver waits for more of its session's messages before letting the session go (host.json's sessionIdleTimeout). */
  readonly sessionIdleTimeoutInMs?: number;
  /** How long the host keeps renewing a session's lock while the function runs (host.json `maxAutoLockRenewalDuration`, default 5 min). */
  readonly maxAutoLockRenewalDurationInMs?: number;
  readonly log: (line: string) => void;
  /**
   * Before each of a short batch's turns on the event loop (its parse and append, its settlement):
   * waits, bounded, for a moment with no HTTP request in flight (RequestsInFlight.idle), so that a
   * lone caller's request never queues behind them. A full batch (`minMessagesPerBatch` or more: the
   * instance is busy) goes at once.
   */
  readonly beforeShortBatchTurn?: () => Promise<void>;
}

export interface RunningTrigger {
  stop(): Promise<void>;
}

/**
 * Runs one SDK call with a signal of its own that follows `parent`. The SDK leaves a listener behind
 * on the signal of every receive and of every accept that times out; on the host's one signal they
 * would pile up for as long as it runs (a leak, and each later removal scans them all). The call's own
 * signal is dropped with them once it returns.
 */
async function withOwnSignal<T>(parent: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const own = new AbortController();
  const follow = (): void => own.abort(parent.reason);
  parent.addEventListener("abort", follow, { once: true });
  if (parent.aborted) own.abort(parent.reason);
  try {
    return await call(own.signal);
  } finally {
    parent.removeEventListener("abort", follow);
  }
}

/**
 * Bodies arrive as the bytes sent: the SDK would JSON.parse each one inside the socket read that
 * delivered it, unsliced; parseBodiesInSlices does the same parse (JSON, else text) in slices.
 */
const RECEIVE_BYTES = true;

/** Settlements started per turn of the event loop (each is one disposition frame through the SDK). */
const SETTLE_SLICE = 25;

/**
 * Settles every message (one disposition each: the SDK has no settlement of a range), started in slices
 * with a turn of the event loop between them, so that a batch's settlements do not hold up the HTTP
 * requests this instance serves; then waits for them all, as one round trip's wait. Rejects with the
 * first failure once every settlement has ended.
 */
async function settleInSlices(messages: readonly ServiceBusReceivedMessage[], settle: (message: ServiceBusReceivedMessage) => Promise<void>): Promise<void> {
  const outcomes: Promise<unknown>[] = [];
  for (let offset = 0; offset < messages.length; offset += SETTLE_SLICE) {
    if (offset > 0) await new Promise((resolve) => setImmediate(resolve));
    // Each failure is caught at once (kept as a value), never left unhandled across the yield.
    for (const message of messages.slice(offset, offset + SETTLE_SLICE)) outcomes.push(settle(message).then(() => null, (error: unknown) => ({ error })));
  }
  const failed = (await Promise.all(outcomes)).find((outcome): outcome is { error: unknown } => outcome !== null);
  if (failed !== undefined) throw failed.error;
}

/**
 * Feeds a Service Bus queue trigger from the real SDK, the way the Functions host does (autoCompleteMessages):
 * sessions when the function declares them, batches for `cardinality: "many"`, complete every message on
 * success, abandon them all on a throw (so the broker redelivers and, past MaxDeliveryCount, dead-letters).
 * Like the Azure host, it never settles by what the handler returns: a function that must set one message
 * aside does so itself (appendAuditEvents writes invalid messages to its dead-letter store). Like it too,
 * it keeps renewing the session lock while the function runs, up to `maxAutoLockRenewalDuration` (host.json,
 * 5 min), so a function that backs off inside its invocation holds its session and burns no delivery.
 * A session's messages are handed over as they arrive, one invocation at a time (streamSession.ts);
 * after an abandon the session is let go and accepted again at once, so the messages delivered behind
 * the failed batch come back after it, in order (the redelivery costs a delivery).
 */
export function startServiceBusTrigger(trigger: ServiceBusTriggerOptions): RunningTrigger {
  const abort = new AbortController();
  // Every session loop and each of its SDK calls listens on this one signal.
  setMaxListeners(64, abort.signal);
  const many = trigger.options.cardinality === "many";
  const batchSize = many ? (trigger.maxMessagesPerBatch ?? 100) : 1;
  const sessions = trigger.options.isSessionsEnabled === true;

  /** Runs the function on a batch and settles it; false when the function failed (the batch abandoned). */
  const invoke = async (receiver: ServiceBusReceiver, messages: ServiceBusReceivedMessage[]): Promise<boolean> => {
    // A short batch (the batch wait ended it, not its size): nothing is behind it, so it can let a request's turn go first.
    const giveWay = messages.length < (trigger.minMessagesPerBatch ?? 1) ? trigger.beforeShortBatchTurn : undefined;
    if (giveWay) await giveWay();
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: trigger.name,
      triggerMetadata: {
        messageIdArray: messages.map((message) => message.messageId ?? null),
        deliveryCountArray: messages.map((message) => message.deliveryCount ?? 0),
        sessionIdArray: messages.map((message) => message.sessionId ?? null),
        enqueuedTimeUtcArray: messages.map((message) => message.enqueuedTimeUtc?.toISOString() ?? null),
        sessionId: messages[0]?.sessionId ?? null,
      },
      logHandler: (level, ...args) => trigger.log(`[${trigger.name}] ${level}: ${args.map(String).join(" ")}`),
    });
    const bodies = await parseBodiesInSlices(messages.map((message): unknown => message.body));
    const input = many ? bodies : bodies[0];
    try {
      await (trigger.options.handler as (input: unknown, context: InvocationContext) => Promise<unknown>)(input, context);
    } catch (error) {
      trigger.log(`[${trigger.name}] failed, abandoning ${messages.length} message(s): ${error instanceof Error ? error.message : "unknown error"}`);
      await settleInSlices(messages, (message) => receiver.abandonMessage(message)).catch(() => undefined);
      return false;
    }
    if (trigger.options.autoCompleteMessages === false) return true;
    if (giveWay) await giveWay();
    // Settled together: one round trip's wait for the batch, not one per message.
    await settleInSlices(messages, (message) => receiver.completeMessage(message));
    return true;
  };

  // A queue without sessions: receives in waits of a second, each batch handed over when its wait ends.
  const drainQueue = async (receiver: ServiceBusReceiver): Promise<void> => {
    while (!abort.signal.aborted) {
      const messages = await withOwnSignal(abort.signal, (abortSignal) => receiver.receiveMessages(batchSize, { maxWaitTimeInMs: 1000, abortSignal }));
      if (messages.length > 0) await invoke(receiver, messages);
    }
  };

  // A session is held until `sessionIdleTimeoutInMs` without a message, as the Functions host does:
  // re-accepting one costs a link, a token and a lock. Its messages stream in (streamSession.ts).
  const drainSession = (receiver: ServiceBusSessionReceiver): Promise<void> =>
    streamSession({
      receiver,
      maxBatchSize: batchSize,
      minBatchSize: many ? Math.min(trigger.minMessagesPerBatch ?? 1, batchSize) : 1,
      maxBatchWaitInMs: trigger.maxBatchWaitTimeInMs ?? 30_000,
      idleTimeoutInMs: trigger.sessionIdleTimeoutInMs ?? 60_000,
      abortSignal: abort.signal,
      invoke: (messages) => invoke(receiver, messages),
      log: (line) => trigger.log(`[${trigger.name}] ${line}`),
    });

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        abort.signal.removeEventListener("abort", wake);
        resolve();
      }, ms);
      abort.signal.addEventListener("abort", wake, { once: true });
    });

  // One loop at a time waits for the next free session; the others wait for their turn here. Each
  // accept that finds no session within the operation timeout (the client's try timeout, a minute by
  // default) costs a link, a token and an error on both sides, so 16 idle loops accepting at once would
  // cost 16 of those for no more sessions (a loop that gets one passes the turn on at once, so new
  // sessions are still picked up right away: the broker answers a waiting accept when one arrives).
  let acceptTurn: Promise<void> = Promise.resolve();
  const acceptNext = async (): Promise<ServiceBusSessionReceiver> => {
    const previous = acceptTurn;
    let passOn = (): void => undefined;
    acceptTurn = new Promise((resolve) => (passOn = resolve));
    try {
      await previous;
      abort.signal.throwIfAborted();
      return await withOwnSignal(abort.signal, (abortSignal) =>
        trigger.client.acceptNextSession(trigger.queueName, {
          abortSignal,
          maxAutoLockRenewalDurationInMs: trigger.maxAutoLockRenewalDurationInMs ?? 300_000,
          skipParsingBodyAsJson: RECEIVE_BYTES,
        }),
      );
    } finally {
      passOn();
    }
  };

  // The sessions held now (until each is let go and its receiver closed): what a stop waits for. An
  // accept still waiting at the broker is not: the SDK does not end it on abort, the client's close
  // does (and a session it gets after the stop is let go unread).
  const holds = new Set<Promise<void>>();
  const sessionLoop = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      let receiver: ServiceBusSessionReceiver;
      try {
        receiver = await acceptNext();
      } catch {
        // No session available within the try timeout, or the broker went away: try again shortly.
        if (!abort.signal.aborted) await pause(250);
        continue;
      }
      const hold = drainSession(receiver).finally(() => receiver.close().catch(() => undefined));
      holds.add(hold);
      await hold.finally(() => holds.delete(hold));
    }
  };

  const queueLoop = async (): Promise<void> => {
    const receiver = trigger.client.createReceiver(trigger.queueName, { skipParsingBodyAsJson: RECEIVE_BYTES });
    try {
      while (!abort.signal.aborted) {
        try {
          await drainQueue(receiver);
        } catch {
          if (!abort.signal.aborted) await pause(250);
        }
      }
    } finally {
      await receiver.close().catch(() => undefined);
    }
  };

  // A loop that fails outside its own catch (the SDK refusing to make a receiver, say) is logged,
  // never left as an unhandled rejection, which would end the process.
  const logged = (loop: Promise<void>): Promise<void> =>
    loop.catch((error: unknown) => trigger.log(`[${trigger.name}] receive loop stopped: ${error instanceof Error ? `${error.name}: ${error.message}` : "unknown error"}`));
  const loops = (sessions ? Array.from({ length: trigger.maxConcurrentSessions ?? 8 }, () => sessionLoop()) : [queueLoop()]).map(logged);
  return {
    async stop() {
      abort.abort();
      const ending = sessions ? [...holds] : loops;
      // The SDK does not abort every pending operation at once; never let one hold a stop for long.
      await Promise.race([Promise.allSettled(ending), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}
