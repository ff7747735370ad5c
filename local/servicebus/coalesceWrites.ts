import { type Socket } from "node:net";

/** Control over one socket's coalescing (see `coalesceWrites`). */
export interface CoalescedWrites {
  /** Flushes what this turn wrote so far and writes the rest of the turn one write at a time. */
  writeSeparatelyThisTurn(): void;
}

/**
 * Makes a socket hand one turn's writes to the kernel at once. rhea writes every AMQP frame with its
 * own `socket.write` (a disposition, a flow, each transfer: one system call and, without Nagle, one
 * TCP segment each). The first write of a turn corks the socket; a `process.nextTick` queued then
 * uncorks it after the rest of the turn (rhea writes its frames in a tick queued earlier): Node sends
 * them with one `writev`. Order and content are unchanged; nothing waits for a timer or for I/O.
 */
export function coalesceWrites(socket: Socket): CoalescedWrites {
  const write = socket.write;
  let corked = false;
  let separate = false;
  const uncork = (): void => {
    if (!corked) return;
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket["write"]>): boolean {
    if (!corked && !separate && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket["write"];
  return {
    writeSeparatelyThisTurn(): void {
      uncork();
      if (separate) return;
      separate = true;
      process.nextTick(() => {
        separate = false;
      });
    },
  };
}
