import { Socket } from "node:net";

/**
 * Counts the writes TCP sockets hand to the kernel (`_write` for one buffer, `_writev` for a corked
 * group), split by whether the socket's local port is `serverPort` (the server's side of a
 * connection) or not (the client's). `socket.write` calls are not the figure: corked writes reach the
 * kernel as one `_writev`. In process only: patches `net.Socket`'s prototype until `stop()`.
 */
export interface SocketFlushCount {
  readonly server: number;
  readonly client: number;
  readonly serverBuffers: number;
  readonly clientBuffers: number;
}

interface WritableInternals {
  _write(chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void): void;
  _writev(chunks: readonly { chunk: unknown }[], callback: (error?: Error | null) => void): void;
}

export function countSocketFlushes(serverPort: number): { snapshot(): SocketFlushCount; stop(): void } {
  const prototype = Socket.prototype as unknown as WritableInternals;
  const originalWrite = prototype._write;
  const originalWritev = prototype._writev;
  const counts = { server: 0, client: 0, serverBuffers: 0, clientBuffers: 0 };
  const tally = (socket: Socket, buffers: number): void => {
    if (socket.localPort === serverPort) {
      counts.server++;
      counts.serverBuffers += buffers;
    } else {
      counts.client++;
      counts.clientBuffers += buffers;
    }
  };
  prototype._write = function (this: Socket, chunk, encoding, callback) {
    tally(this, 1);
    originalWrite.call(this, chunk, encoding, callback);
  };
  prototype._writev = function (this: Socket, chunks, callback) {
    tally(this, chunks.length);
    originalWritev.call(this, chunks, callback);
  };
  return {
    snapshot: () => ({ ...counts }),
    stop: () => {
      prototype._write = originalWrite;
      prototype._writev = originalWritev;
    },
  };
}
