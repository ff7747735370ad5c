import { createServer, type Server, type Socket, connect } from "node:net";

export type FaultMode = "pass" | "refuse" | "blackhole";

export interface FaultProxy {
  readonly port: number;
  readonly mode: FaultMode;
  /**
   * `refuse`: stop listening (new connections get ECONNREFUSED) and reset the open ones, as a service that
   * went away. `blackhole`: connections open but no byte moves either way (held, as TCP would keep them
   * in flight) until `pass`, as a network partition. `pass`: forward again.
   */
  setMode(mode: FaultMode): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP proxy on loopback in front of `target`, on a free port, that can refuse or black-hole on demand. */
export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const host = target.host ?? "127.0.0.1";
  let mode: FaultMode = "pass";
  const pairs = new Set<{ client: Socket; upstream: Socket; held: [Socket, Buffer][] }>();

  const onConnection = (client: Socket): void => {
    const upstream = connect({ host, port: target.port });
    const pair = { client, upstream, held: [] as [Socket, Buffer][] };
    pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on("data", (chunk: Buffer) => {
        if (mode === "blackhole") pair.held.push([to, chunk]);
        else if (!to.destroyed) to.write(chunk);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const close = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  };

  let server: Server = createServer(onConnection);
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        const address = server.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  const port = await listen(0);
  const closeServer = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

  return {
    port,
    get mode() {
      return mode;
    },
    async setMode(next) {
      if (next === mode) return;
      const previous = mode;
      mode = next;
      if (next === "refuse") {
        for (const pair of [...pairs]) {
          pair.client.resetAndDestroy();
          pair.upstream.destroy();
        }
        await closeServer();
        return;
      }
      if (previous === "refuse") {
        server = createServer(onConnection);
        await listen(port);
      }
      if (next === "pass") {
        for (const pair of pairs) {
          for (const [to, chunk] of pair.held.splice(0)) if (!to.destroyed) to.write(chunk);
        }
      }
    },
    async stop() {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      if (mode !== "refuse") await closeServer();
    },
  };
}
