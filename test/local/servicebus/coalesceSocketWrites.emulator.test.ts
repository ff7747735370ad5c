import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { coalesceSocketWrites } from "../../../src/adapters/servicebus/coalesceSocketWrites.js";

/** A connected pair on loopback; `kernelWrites` lists the buffers per write the server's socket handed the kernel. */
async function pair(): Promise<{ server: Socket; client: Socket; kernelWrites: number[]; received: () => string; close: () => void }> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection");
  const client = connect((listener.address() as AddressInfo).port, "127.0.0.1");
  const [server] = (await accepted) as [Socket];
  const kernelWrites: number[] = [];
  const internals = server as unknown as {
    _write(chunk: unknown, encoding: BufferEncoding, callback: () => void): void;
    _writev(chunks: unknown[], callback: () => void): void;
  };
  const write = internals._write.bind(server);
  const writev = internals._writev.bind(server);
  internals._write = (chunk, encoding, callback) => {
    kernelWrites.push(1);
    write(chunk, encoding, callback);
  };
  internals._writev = (chunks, callback) => {
    kernelWrites.push(chunks.length);
    writev(chunks, callback);
  };
  let text = "";
  client.on("data", (data: Buffer) => (text += data.toString()));
  return {
    server,
    client,
    kernelWrites,
    received: () => text,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("coalesceSocketWrites on the emulator's server sockets", () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it("hands one turn's writes to the kernel at once, in order, and starts again the next turn", async () => {
    const connection = await pair();
    close = connection.close;
    coalesceSocketWrites(connection.server);
    connection.server.write("a");
    connection.server.write("b");
    connection.server.write("c");
    await turn();
    connection.server.write("d");
    await turn();
    expect(connection.kernelWrites).toEqual([3, 1]);
    await expect.poll(() => connection.received()).toBe("abcd");
  });

  it("writes one at a time for the rest of a turn on request, flushing what was corked first", async () => {
    const connection = await pair();
    close = connection.close;
    const writes = coalesceSocketWrites(connection.server);
    connection.server.write("a");
    connection.server.write("b");
    writes.writeSeparatelyThisTurn();
    connection.server.write("c");
    connection.server.write("d");
    await turn();
    connection.server.write("e");
    connection.server.write("f");
    await turn();
    expect(connection.kernelWrites).toEqual([2, 1, 1, 2]);
    await expect.poll(() => connection.received()).toBe("abcdef");
  });
});
