import { Agent, type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from "node:http";
import { type AddressInfo } from "node:net";
import { serveUntilStopped } from "./benchChild.js";

/**
 * The yardstick, for the benchmark: a plain node:http reverse proxy (no framework, no SDK, no
 * checks) that forwards the chat request to the mock upstream's deployment URL over keep-alive and
 * copies the answer back. The "~140 µs per request on this machine" is this kind of proxy;
 * measuring it in the same run and harness shows what the harness itself charges at each rate.
 *
 * `PALISADE_FLOOR_UPSTREAM_URL` and `PALISADE_FLOOR_DEPLOYMENT` come from the parent. Serves until
 * stopped, as the gateway server does (`serveUntilStopped`).
 */

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

function main(): void {
  const upstream = new URL(`${required("PALISADE_FLOOR_UPSTREAM_URL")}/openai/deployments/${required("PALISADE_FLOOR_DEPLOYMENT")}/chat/completions?api-version=2024-10-21`);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const proxied = httpRequest(
      upstream,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": incoming.headers["content-length"] ?? "0", "api-key": "unused-local" } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "application/json", ...(answer.headers["content-length"] ? { "content-length": answer.headers["content-length"] } : {}) });
        answer.pipe(outgoing);
      },
    );
    proxied.once("error", () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    incoming.pipe(proxied);
  };
  const server = createServer(forward);
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    // The bench appends /v1/chat/completions to the url; the proxy forwards whatever path it gets.
    serveUntilStopped({ url: `http://127.0.0.1:${port}/api`, pid: process.pid, apiKey: "unused" }, async () => {
      server.close();
      agent.destroy();
    });
  });
}

main();
