import { type Socket } from "node:net";

const COALESCED = Symbol("palisade.coalescedWrites");

/**
 * Makes a socket hand one turn's writes to the kernel at once: the first write of a turn corks it and
 * a `process.nextTick` queued then uncorks it, after the ticks queued before it and the promise
 * continuations of the turn, so Node sends the frames written meanwhile with one `writev`. Order, content,
 * `write`'s return value (back-pressure) and its errors are Node's own; nothing waits for a timer or
 * for I/O. A destroyed socket is not corked (its writes fail as they would anyway). Idempotent.
 */
export function coalesceSocketWrites(socket: Socket): void {
  const marked = socket as Socket & { [COALESCED]?: true };
  if (marked[COALESCED] === true) return;
  marked[COALESCED] = true;
  const write = socket.write.bind(socket);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    // `end()` and `destroy()` may have flushed or dropped the corked writes already; uncork is then a no-op.
    if (socket.writableCorked > 0) socket.uncork();
  };
  socket.write = function (...args: Parameters<Socket["write"]>): boolean {
    if (!corked && !socket.destroyed && !socket.writableEnded) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  } as Socket["write"];
}
