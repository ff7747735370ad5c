import { type Socket } from "node:net";

const COALESCED = Symbol("palisade.coalescedWrites");

/** Control over one socket's coalescing. */
export interface CoalescedWrites {
  /** Flushes what this turn wrote so far and writes the rest of the turn one write at a time. */
  writeSeparatelyThisTurn(): void;
}

/**
 * Makes a socket hand one turn's writes to the kernel at once: the first write of a turn corks it and
 * a `process.nextTick` queued then uncorks it, after the ticks queued before it and the promise
 * continuations of the turn, so Node sends the frames written meanwhile with one `writev`. Order, content,
 * `write`'s return value (back-pressure) and its errors are Node's own; nothing waits for a timer or
 * for I/O. A destroyed socket is not corked (its writes fail as they would anyway). Nagle's algorithm
 * is turned off (setNoDelay): the turn is the batch already, and with Nagle on, a turn's write that
 * follows a frame the peer does not answer (an AMQP flow, a heartbeat, a transfer to a consumer) sat
 * until the peer's delayed ACK, ~40 ms on Linux (docs/benchmarks.md, issue 22). Idempotent: a
 * second call returns the first call's control. Used by the app's AMQP client (coalesceAmqpWrites)
 * and by the local Service Bus emulator's server sockets.
 */
export function coalesceSocketWrites(socket: Socket): CoalescedWrites {
  const marked = socket as Socket & { [COALESCED]?: CoalescedWrites };
  const existing = marked[COALESCED];
  if (existing !== undefined) return existing;
  socket.setNoDelay(true);
  const write = socket.write.bind(socket);
  let corked = false;
  let separate = false;
  const uncork = (): void => {
    if (!corked) return;
    corked = false;
    // `end()` and `destroy()` may have flushed or dropped the corked writes already; uncork is then a no-op.
    if (socket.writableCorked > 0) socket.uncork();
  };
  socket.write = function (...args: Parameters<Socket["write"]>): boolean {
    if (!corked && !separate && !socket.destroyed && !socket.writableEnded) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  } as Socket["write"];
  const control: CoalescedWrites = {
    writeSeparatelyThisTurn(): void {
      uncork();
      if (separate) return;
      separate = true;
      process.nextTick(() => {
        separate = false;
      });
    },
  };
  marked[COALESCED] = control;
  return control;
}
