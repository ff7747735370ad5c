import { Socket } from "node:net";

/** One read or write a TCP socket of this process made, at `process.hrtime` (CLOCK_MONOTONIC, shared by the machine's processes). */
export interface WireStamp {
  readonly kind: "read" | "write";
  readonly atNs: bigint;
  readonly bytes: number;
}

interface SocketInternals {
  push(chunk: unknown, encoding?: BufferEncoding): boolean;
  _write(chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void): void;
  _writev(chunks: readonly { chunk: unknown }[], callback: (error?: Error | null) => void): void;
}

const byteLength = (chunk: unknown): number => (chunk instanceof Uint8Array ? chunk.byteLength : typeof chunk === "string" ? Buffer.byteLength(chunk) : 0);

/**
 * Bench only: records when the TCP sockets of this process whose remote or local port is `port`
 * received bytes from the kernel (`push`) and handed bytes to it (`_write`/`_writev`), so a round
 * trip can be cut into its legs across processes (the clock is the machine's monotonic clock).
 * `onSocket` sees each such socket at its every read and write. Patches `net.Socket`'s prototype until `stop()`.
 */
export function recordWireStamps(port: number, onSocket: (socket: Socket) => void = () => undefined): { take(): WireStamp[]; stop(): void } {
  const prototype = Socket.prototype as unknown as SocketInternals;
  const { push, _write: write, _writev: writev } = prototype;
  let stamps: WireStamp[] = [];
  const ours = (socket: Socket): boolean => {
    if (socket.remotePort !== port && socket.localPort !== port) return false;
    onSocket(socket);
    return true;
  };
  prototype.push = function (this: Socket, chunk, encoding) {
    if (chunk !== null && ours(this)) stamps.push({ kind: "read", atNs: process.hrtime.bigint(), bytes: byteLength(chunk) });
    return push.call(this, chunk, encoding);
  };
  prototype._write = function (this: Socket, chunk, encoding, callback) {
    if (ours(this)) stamps.push({ kind: "write", atNs: process.hrtime.bigint(), bytes: byteLength(chunk) });
    write.call(this, chunk, encoding, callback);
  };
  prototype._writev = function (this: Socket, chunks, callback) {
    if (ours(this)) stamps.push({ kind: "write", atNs: process.hrtime.bigint(), bytes: chunks.reduce((sum, { chunk }) => sum + byteLength(chunk), 0) });
    writev.call(this, chunks, callback);
  };
  return {
    take() {
      const taken = stamps;
      stamps = [];
      return taken;
    },
    stop() {
      prototype.push = push;
      prototype._write = write;
      prototype._writev = writev;
    },
  };
}
