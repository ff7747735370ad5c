import { type IsolatedLocalStack } from "./isolatedStack.js";

const POLL_IN_MS = 100;

/**
 * Waits until the audit queue is empty (every event consumed: appended to the ledger, or
 * dead-lettered), at most `timeoutInMs`, and says how it ended. `npm start` runs it on Ctrl-C
 * before the queue's consumer and the in-memory Service Bus emulator stop, so the outcomes of the
 * requests it drained are not lost with them.
 */
export async function waitForAuditQueue(stack: Pick<IsolatedLocalStack, "stats">, queue: string, timeoutInMs: number): Promise<string> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const { queueDepths } = await stack.stats([queue]);
    const queued = queueDepths[queue] ?? 0;
    const deadLettered = queueDepths[`${queue}/$DeadLetterQueue`] ?? 0;
    if (queued === 0) {
      return deadLettered === 0
        ? "Audit: the queue is empty; every event published is in the ledger."
        : `Audit: the queue is empty, but ${deadLettered} event(s) are dead-lettered and go with the in-memory emulator (replay them before stopping: palisade audit replay-dead-letters).`;
    }
    if (Date.now() >= deadline) return `Audit: ${queued} event(s) were still queued after ${timeoutInMs} ms; they go with the in-memory Service Bus emulator.`;
    await new Promise((resolve) => setTimeout(resolve, POLL_IN_MS));
  }
}
