import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { connect as connectTls, createServer as createTlsServer, type TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { createEmulatorCertificate } from "../../../local/keyvault/certificate.js";
import { coalesceSocketWrites } from "../../../src/adapters/servicebus/coalesceSocketWrites.js";

interface Pair {
  /** The side under test: its kernel writes are counted (buffers per `_write`/`_writev`). */
  writer: Socket;
  reader: Socket;
  kernelWrites: number[];
  received: () => string;
  close: () => void;
}

async function pair(options: { highWaterMark?: number; connected?: boolean } = {}): Promise<Pair> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection");
  const writer = connect({ port: (listener.address() as AddressInfo).port, host: "127.0.0.1", ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }) });
  // Not yet connected, the socket buffers every write in its writable state (the back-pressure test's case).
  if (options.connected !== false) await once(writer, "connect");
  const [reader] = (await accepted) as [Socket];
  const kernelWrites: number[] = [];
  const internals = writer as unknown as {
    _write(chunk: unknown, encoding: BufferEncoding, callback: () => void): void;
    _writev(chunks: unknown[], callback: () => void): void;
  };
  const write = internals._write.bind(writer);
  const writev = internals._writev.bind(writer);
  internals._write = (chunk, encoding, callback) => {
    kernelWrites.push(1);
    write(chunk, encoding, callback);
  };
  internals._writev = (chunks, callback) => {
    kernelWrites.push(chunks.length);
    writev(chunks, callback);
  };
  let text = "";
  reader.on("data", (data: Buffer) => (text += data.toString()));
  return {
    writer,
    reader,
    kernelWrites,
    received: () => text,
    close: () => {
      writer.destroy();
      reader.destroy();
      listener.close();
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("coalesceSocketWrites", () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it("hands one turn's writes to the kernel at once, in order, including writes from promise continuations and earlier ticks", async () => {
    const connection = await pair();
    close = connection.close;
    coalesceSocketWrites(connection.writer);
    coalesceSocketWrites(connection.writer); // idempotent
    process.nextTick(() => connection.writer.write("d"));
    connection.writer.write("a");
    connection.writer.write("b");
    void Promise.resolve().then(() => connection.writer.write("c"));
    await turn();
    connection.writer.write("e");
    await turn();
    expect(connection.kernelWrites).toEqual([4, 1]);
    // The test body is itself a promise continuation: "c" runs before the tick queue ("d", then the uncork).
    await expect.poll(() => connection.received()).toBe("abcde");
  });

  it("on request (the emulator's refused attach) flushes the turn so far, sends the next write alone and holds the later ones, in order, for the time asked", async () => {
    const connection = await pair();
    close = connection.close;
    const writes = coalesceSocketWrites(connection.writer);
    expect(coalesceSocketWrites(connection.writer)).toBe(writes);
    connection.writer.write("a");
    connection.writer.write("b");
    writes.holdAfterNextWrite(50);
    connection.writer.write("c");
    connection.writer.write("d");
    await turn();
    connection.writer.write("e");
    await turn();
    // "a" and "b" together, "c" alone; "d" and "e" still held.
    expect(connection.kernelWrites).toEqual([2, 1]);
    await expect.poll(() => connection.received()).toBe("abc");
    await expect.poll(() => connection.kernelWrites).toEqual([2, 1, 2]);
    await expect.poll(() => connection.received()).toBe("abcde");
    // Then turns again.
    connection.writer.write("f");
    connection.writer.write("g");
    await turn();
    expect(connection.kernelWrites).toEqual([2, 1, 2, 2]);
  });

  it("a socket destroyed during a hold throws nothing and leaves nothing pending", async () => {
    const connection = await pair();
    close = connection.close;
    const writes = coalesceSocketWrites(connection.writer);
    connection.writer.on("error", () => undefined);
    const outcomes: (Error | null | undefined)[] = [];
    writes.holdAfterNextWrite(20);
    connection.writer.write("a", (error) => outcomes.push(error));
    connection.writer.write("b", (error) => outcomes.push(error));
    connection.reader.resetAndDestroy();
    connection.writer.destroy();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(outcomes).toHaveLength(2);
    expect(outcomes[1]).toBeInstanceOf(Error);
    expect(connection.writer.destroyed).toBe(true);
  });

  it("turns Nagle's algorithm off, so a turn's write never waits for the peer's delayed ACK of an earlier unanswered frame", async () => {
    const connection = await pair();
    close = connection.close;
    const calls: (boolean | undefined)[] = [];
    const setNoDelay = connection.writer.setNoDelay.bind(connection.writer);
    connection.writer.setNoDelay = (noDelay?: boolean) => {
      calls.push(noDelay);
      return setNoDelay(noDelay);
    };
    coalesceSocketWrites(connection.writer);
    coalesceSocketWrites(connection.writer);
    expect(calls).toEqual([true]);
  });

  it("delays nothing past the turn: a write is on the wire before the next timer or I/O callback runs", async () => {
    const connection = await pair();
    close = connection.close;
    coalesceSocketWrites(connection.writer);
    connection.writer.write("x");
    connection.writer.write("y");
    const flushedBeforeImmediate = await new Promise<number>((resolve) => setImmediate(() => resolve(connection.kernelWrites.length)));
    expect(flushedBeforeImmediate).toBe(1);
  });

  it("keeps back-pressure: write's return value and 'drain' are the same as without coalescing", async () => {
    const highWaterMark = 1_024;
    const chunk = "z".repeat(400);
    const returns = async (coalesce: boolean): Promise<boolean[]> => {
      const connection = await pair({ highWaterMark, connected: false });
      try {
        if (coalesce) coalesceSocketWrites(connection.writer);
        const results = [connection.writer.write(chunk), connection.writer.write(chunk), connection.writer.write(chunk), connection.writer.write(chunk)];
        if (results.includes(false)) await once(connection.writer, "drain");
        await expect.poll(() => connection.received().length).toBe(chunk.length * 4);
        return results;
      } finally {
        connection.close();
      }
    };
    const plain = await returns(false);
    expect(plain).toContain(false);
    expect(await returns(true)).toEqual(plain);
  });

  it("ends cleanly when the socket is ended in the middle of a corked turn: everything written before end() arrives", async () => {
    const connection = await pair();
    close = connection.close;
    coalesceSocketWrites(connection.writer);
    connection.writer.write("a");
    connection.writer.end("b");
    await once(connection.reader, "end");
    expect(connection.received()).toBe("ab");
  });

  it("lets an error on a socket cut mid-turn reach its 'error' listener and write callbacks, and throws nothing", async () => {
    const connection = await pair();
    close = connection.close;
    coalesceSocketWrites(connection.writer);
    const errors: Error[] = [];
    connection.writer.on("error", (error: Error) => errors.push(error));
    const callbackErrors: (Error | null | undefined)[] = [];
    connection.writer.write("a", (error) => callbackErrors.push(error));
    // The peer resets the connection: the writer's next writes fail in the kernel (EPIPE / ECONNRESET).
    connection.reader.resetAndDestroy();
    await once(connection.writer, "close").catch(() => undefined);
    connection.writer.write("b", (error) => callbackErrors.push(error));
    await turn();
    await turn();
    // The corked "a" either reached the kernel before the reset or failed with it; "b" after destruction fails.
    expect(callbackErrors.length).toBe(2);
    expect(callbackErrors[1]).toBeInstanceOf(Error);
    expect(connection.writer.destroyed).toBe(true);
    for (const error of errors) expect(error).toBeInstanceOf(Error);
  });

  it("over TLS (Service Bus in Azure): one turn's writes leave as one write of the TLS socket, in order", async () => {
    const { certPem, keyPem } = await createEmulatorCertificate();
    const listener = createTlsServer({ cert: certPem, key: keyPem });
    listener.listen(0, "127.0.0.1");
    await once(listener, "listening");
    const accepted = once(listener, "secureConnection");
    const writer = connectTls({ port: (listener.address() as AddressInfo).port, host: "127.0.0.1", ca: certPem });
    await once(writer, "secureConnect");
    const [reader] = (await accepted) as [TLSSocket];
    close = () => {
      writer.destroy();
      reader.destroy();
      listener.close();
    };
    const flushes: number[] = [];
    const internals = writer as unknown as { _writev(chunks: unknown[], callback: () => void): void; _write(chunk: unknown, encoding: BufferEncoding, callback: () => void): void };
    const writev = internals._writev.bind(writer);
    const write = internals._write.bind(writer);
    internals._writev = (chunks, callback) => {
      flushes.push(chunks.length);
      writev(chunks, callback);
    };
    internals._write = (chunk, encoding, callback) => {
      flushes.push(1);
      write(chunk, encoding, callback);
    };
    let text = "";
    reader.on("data", (data: Buffer) => (text += data.toString()));
    coalesceSocketWrites(writer);
    for (const part of ["frame-1;", "frame-2;", "frame-3;"]) writer.write(part);
    await turn();
    expect(flushes).toEqual([3]);
    await expect.poll(() => text).toBe("frame-1;frame-2;frame-3;");
  });

  it("a socket destroyed while corked drops the turn's writes with an error to their callbacks, as an uncorked one would", async () => {
    const connection = await pair();
    close = connection.close;
    coalesceSocketWrites(connection.writer);
    const outcomes: (Error | null | undefined)[] = [];
    connection.writer.on("error", () => undefined);
    connection.writer.write("a", (error) => outcomes.push(error));
    connection.writer.write("b", (error) => outcomes.push(error));
    connection.writer.destroy();
    await turn();
    await turn();
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(Error);
    expect(connection.kernelWrites).toEqual([]);
  });
});
