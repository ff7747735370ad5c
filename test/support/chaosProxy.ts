import { connect, createServer, type Socket } from "node:net";
import { seededRandom } from "./seededRandom.js";

/**
 * A TCP proxy on loopback in front of `target`, on a free port, that makes a dependency slow and
 * unreliable the ways a busy network is: every chunk is delayed (order kept per direction), some
 * are stalled for a while, and some answers are cut off by a connection reset after the request
 * already reached the service (so the client cannot tell whether its write landed). Seeded, so a
 * failing run can be replayed. Counts what it did, so a test can show the faults really happened.
 */

export interface ChaosOptions {
  /** Each chunk waits a uniform 0..latencyInMs before it is forwarded. */
  readonly latencyInMs: number;
  /** Share of chunks held for `stallInMs` more (beyond a client's try timeout, it gives up). */
  readonly stallRate: number;
  readonly stallInMs: number;
  /** Share of answers (service -> client chunks) dropped with a reset of both sides. */
  readonly resetRate: number;
  readonly seed: number;
}

export interface ChaosCounts {
  connections: number;
  chunks: number;
  stalls: number;
  resets: number;
}

export interface ChaosProxy {
  readonly port: number;
  readonly counts: Readonly<ChaosCounts>;
  /** Changes the faults from now on (e.g. all zero: a calm network). */
  configure(options: Partial<ChaosOptions>): void;
  /**
   * Cuts the connection of the next `count` answers that start with `statusLine` (e.g. a Table
   * batch's `HTTP/1.1 202`): the service did the work, the client never hears of it.
   */
  loseNextAnswers(count: number, statusLine: string): void;
  stop(): Promise<void>;
}

/** Starts the proxy on a free loopback port; `initial` sets the faults (seeded, so a run can be replayed). */
export async function startChaosProxy(target: { host?: string; port: number }, initial: ChaosOptions): Promise<ChaosProxy> {
  const host = target.host ?? "127.0.0.1";
  let options = { ...initial };
  const random = seededRandom(initial.seed);
  const counts: ChaosCounts = { connections: 0, chunks: 0, stalls: 0, resets: 0 };
  const sockets = new Set<Socket>();
  let toLose = { count: 0, statusLine: "" };
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((client) => {
    counts.connections++;
    const upstream = connect({ host, port: target.port });
    sockets.add(client).add(upstream);
    const close = (): void => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    const reset = (): void => {
      counts.resets++;
      sockets.delete(client);
      sockets.delete(upstream);
      client.resetAndDestroy();
      upstream.destroy();
    };
    const forward = (from: Socket, to: Socket, answers: boolean): void => {
      // Chunks leave in order: each is due no earlier than the one before it.
      let dueAt = 0;
      from.on("data", (chunk: Buffer) => {
        counts.chunks++;
        if (answers && toLose.count > 0 && chunk.subarray(0, toLose.statusLine.length).toString("latin1") === toLose.statusLine) {
          toLose = { ...toLose, count: toLose.count - 1 };
          reset();
          return;
        }
        if (answers && random() < options.resetRate) {
          reset();
          return;
        }
        let delay = random() * options.latencyInMs;
        if (random() < options.stallRate) {
          counts.stalls++;
          delay += options.stallInMs;
        }
        dueAt = Math.max(dueAt, performance.now() + delay);
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            if (!to.destroyed) to.write(chunk);
          },
          Math.max(0, dueAt - performance.now()),
        );
        timers.add(timer);
      });
    };
    forward(client, upstream, false);
    forward(upstream, client, true);
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });

  return {
    port,
    counts,
    configure(next) {
      options = { ...options, ...next };
    },
    loseNextAnswers(count, statusLine) {
      toLose = { count, statusLine };
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
