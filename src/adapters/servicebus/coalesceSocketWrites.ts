import { type Socket } from "node:net";

const COALESCED = Symbol("palisade.coalescedWrites");

/** Control over one socket's coalescing. */
export interface CoalescedWrites {
  /**
   * Flushes what this turn wrote so far, lets the next write go to the kernel alone, then holds every
   * later write (in order) for `ms`. The emulator's refused attach: the SDK reports the detach's error
   * only when it read the attach first, and two writes in a row can reach the peer as one read.
   */
  holdAfterNextWrite(ms: number): void;
}

/**
 * Makes a socket hand one turn's writes to the kernel at once: the first write of a turn corks it and
 * a `process.nextTick` queued then uncorks it, after the ticks queued before it and the promise
 * continuations of the turn, so Node sends the frames written meanwhile with one `writev`. Order, content,
 * `write`'s return value (back-pressure) and its errors are Node's own; nothing waits for a timer or
 * for I/O (but `holdAfterNextWrite`). A destroyed socket is not corked (its writes fail as they would
 * anyway). Nagle's algorithm is turned off (setNoDelay): the turn is the batch already, and with Nagle
 * on, a turn's write that follows a frame the peer does not answer at once (an AMQP flow, a heartbeat,
 * a transfer to a consumer) sat until the peer's delayed ACK, ~40 ms on Linux (docs/benchmarks.md,
 * issue 22). Idempotent: a second call returns the first call's control. Used by the app's AMQP
 * client (coalesceAmqpWrites) and by the local Service Bus emulator's server sockets.
 */
export function coalesceSocketWrites(socket: Socket): CoalescedWrites {
  const marked = socket as Socket & { [COALESCED]?: CoalescedWrites };
  const existing = marked[COALESCED];
  if (existing !== undefined) return existing;
  socket.setNoDelay(true);
  const write = socket.write.bind(socket);
  let corked = false;
  /** `alone`: the next write goes uncorked; `holding`: corked until a timer ends the hold. */
  let phase: "turns" | "alone" | "holding" = "turns";
  let holdMs = 0;
  const uncork = (): void => {
    if (!corked) return;
    corked = false;
    // `end()` and `destroy()` may have flushed or dropped the corked writes already; uncork is then a no-op.
    if (socket.writableCorked > 0) socket.uncork();
  };
  const endHold = (): void => {
    phase = "turns";
    if (socket.writableCorked > 0) socket.uncork();
  };
  socket.write = function (...args: Parameters<Socket["write"]>): boolean {
    if (phase === "alone") {
      const result = write(...args);
      phase = "holding";
      if (!socket.destroyed && !socket.writableEnded) socket.cork();
      setTimeout(endHold, holdMs).unref();
      return result;
    }
    if (phase === "turns" && !corked && !socket.destroyed && !socket.writableEnded) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  } as Socket["write"];
  const control: CoalescedWrites = {
    holdAfterNextWrite(ms: number): void {
      uncork();
      if (phase !== "turns") return;
      phase = "alone";
      holdMs = ms;
    },
  };
  marked[COALESCED] = control;
  return control;
}
