import { type IncomingMessage, type Server, createServer, request as httpRequest } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { watchBodyRate } from "../../../local/host/requestBody.js";
import { listenOn } from "../../../local/listenOn.js";

/**
 * The body-rate watcher's timer holds the request and its answer in its closure. It used to let go
 * only at its next tick (up to a second later), so at 200 req/s every request outlived two
 * scavenges and was promoted (a heap snapshot held 200 answered requests, all retained by this
 * timer). It must let go as soon as the body has arrived or the request is gone.
 */

const servers: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Serves one route that watches the body (a 60 s grace: the watcher's tick is 1 s) and echoes its size. */
async function watchingServer(onWatched: (request: IncomingMessage) => void): Promise<number> {
  const server = createServer((request, response) => {
    watchBodyRate(request, { minBytesPerSecond: 240, graceInMs: 60_000 }, () => false, () => response.destroy());
    onWatched(request);
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => response.end(String(Buffer.concat(chunks).byteLength)));
  });
  servers.push(server);
  return listenOn(server, 0, "127.0.0.1");
}

function post(port: number, body: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ port, host: "127.0.0.1", method: "POST", path: "/", headers: { "content-type": "application/json" } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve(text));
    });
    outgoing.on("error", reject);
    if (body === null) outgoing.flushHeaders();
    else outgoing.end(body);
  });
}

describe("watchBodyRate lets go of the request", () => {
  it("as soon as the body has arrived, well before its timer's next tick", async () => {
    const cleared = vi.spyOn(globalThis, "clearInterval");
    let watchedAt = 0;
    const port = await watchingServer(() => (watchedAt = performance.now()));
    const body = JSON.stringify({ hello: "x".repeat(100) });
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(port, body)));
    expect(answers).toEqual(Array.from({ length: 5 }, () => String(body.length)));
    // Every watcher stopped, and not by ticking: the first tick is 1 s after the watch began.
    expect(cleared).toHaveBeenCalledTimes(5);
    expect(performance.now() - watchedAt).toBeLessThan(1_000);
  });

  it("when the caller goes away before the body arrives", async () => {
    const cleared = vi.spyOn(globalThis, "clearInterval");
    let gone: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (gone = resolve));
    const port = await watchingServer((request) => request.once("close", () => setImmediate(gone)));
    const outgoing = httpRequest({ port, host: "127.0.0.1", method: "POST", path: "/", headers: { "content-length": "1000" } });
    outgoing.on("error", () => undefined);
    outgoing.write("{");
    setTimeout(() => outgoing.destroy(), 50);
    await closed;
    expect(cleared).toHaveBeenCalledTimes(1);
  });
});
