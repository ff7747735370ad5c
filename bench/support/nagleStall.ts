import { once } from "node:events";
import { type AddressInfo, connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";

/**
 * The stall Nagle's algorithm adds to a framed protocol on loopback, in numbers: a client writes a
 * small frame the server does not answer (as an AMQP flow or a transfer to a consumer), then in the
 * next turn a frame the server answers at once; the time to that answer, with Nagle on and off.
 * With Nagle on, the second frame waits for the ACK of the first, which the server delays (~40 ms on
 * Linux). `node dist/bench/support/nagleStall.js [rounds=40]`.
 */
export async function measureNagleStall(noDelay: boolean, rounds: number): Promise<{ p50Ms: number; maxMs: number; over30Ms: number }> {
  const server = createServer((socket) => {
    socket.on("data", (data: Buffer) => {
      if (data.includes(0x42)) socket.write("R");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
  await once(client, "connect");
  client.setNoDelay(noDelay);
  const times: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      client.write("A");
      await new Promise((resolve) => setImmediate(resolve));
      const startedAt = performance.now();
      client.write("B");
      await once(client, "data");
      times.push(performance.now() - startedAt);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    client.destroy();
    server.close();
  }
  times.sort((a, b) => a - b);
  const round = (ms: number): number => Number(ms.toFixed(2));
  return { p50Ms: round(times[Math.floor(times.length / 2)] ?? Number.NaN), maxMs: round(times[times.length - 1] ?? Number.NaN), over30Ms: times.filter((ms) => ms > 30).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.argv[2] ?? 40);
  console.log(JSON.stringify({ rounds, nagleOn: await measureNagleStall(false, rounds), nagleOff: await measureNagleStall(true, rounds) }));
}
