import { Agent, request } from "node:http";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

/** One load run's outcome; latencies in milliseconds. */
export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Answers other than 2xx, plus connection errors and timeouts. */
  readonly failures: number;
  /** Fixed rate only: requests never sent because `maxInFlight` were already outstanding (the server fell behind). */
  readonly dropped: number;
}

export interface LoadTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

// autocannon ships no types; this is the part of its programmatic API the bench uses.
interface AutocannonOptions {
  readonly url: string;
  readonly method: "POST";
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly connections: number;
  readonly duration: number;
  readonly timeout: number;
}
interface AutocannonResult {
  readonly latency: { readonly p50: number; readonly p90: number; readonly p99: number };
  readonly requests: { readonly average: number; readonly total: number };
  readonly duration: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly "2xx": number;
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;

const require = createRequire(import.meta.url);
const autocannon = require("autocannon") as Autocannon;

/** Closed loop with autocannon: `connections` callers, each sending its next request when the last answered. */
export async function closedLoop(target: LoadTarget, connections: number, durationInSeconds: number): Promise<LoadResult> {
  const result = await autocannon({ url: target.url, method: "POST", headers: target.headers, body: target.body, connections, duration: durationInSeconds, timeout: 30 });
  return {
    requests: result["2xx"],
    requestsPerSecond: result["2xx"] / (result.duration || durationInSeconds),
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    dropped: 0,
  };
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** A run's result from its successful latencies (ms), wall time, failures and requests not sent. */
function resultOf(latencies: Float64Array, elapsedInSeconds: number, failures: number, dropped: number): LoadResult {
  const sorted = latencies.sort();
  return {
    requests: sorted.length,
    requestsPerSecond: sorted.length / elapsedInSeconds,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    failures,
    dropped,
  };
}

/**
 * Open loop at a fixed rate, paced evenly (a request every 1/rate s, not a burst at the start of each
 * second as autocannon's `overallRate` does), latency measured from the moment each request was due
 * (so a stalled server cannot hide its queue: no coordinated omission). At most `maxInFlight` requests
 * are outstanding; requests due beyond that are counted as dropped, not sent.
 */
export async function fixedRate(target: LoadTarget, rate: number, durationInSeconds: number, maxInFlight = 512): Promise<LoadResult> {
  const url = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight, maxFreeSockets: maxInFlight });
  const body = Buffer.from(target.body);
  const headers = { ...target.headers, "content-length": String(body.byteLength) };
  const total = Math.round(rate * durationInSeconds);
  const latencies = new Float64Array(total);
  let completed = 0;
  let failures = 0;
  let dropped = 0;
  let inFlight = 0;
  let sent = 0;
  const startedAt = performance.now();

  await new Promise<void>((resolve) => {
    let settled = 0;
    const done = (): void => {
      settled += 1;
      if (settled === total) resolve();
    };
    const fire = (dueAt: number): void => {
      if (inFlight >= maxInFlight) {
        dropped += 1;
        done();
        return;
      }
      inFlight += 1;
      const call = request(
        { agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: "POST", headers },
        (response) => {
          response.resume();
          response.on("end", () => {
            inFlight -= 1;
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) latencies[completed++] = performance.now() - dueAt;
            else failures += 1;
            done();
          });
        },
      );
      call.setTimeout(30_000, () => call.destroy(new Error("timeout")));
      call.on("error", () => {
        inFlight -= 1;
        failures += 1;
        done();
      });
      call.end(body);
    };
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - startedAt) / 1000) * rate) + 1);
      while (sent < due) {
        const dueAt = startedAt + (sent * 1000) / rate;
        sent += 1;
        fire(dueAt);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  return resultOf(latencies.slice(0, completed), (performance.now() - startedAt) / 1000, failures, dropped);
}

/**
 * One caller, one request at a time, `count` requests on one keep-alive connection, latency in µs
 * resolution (autocannon rounds to whole milliseconds, too coarse for a single caller's tail).
 */
/** One POST of `body` on `agent`, its answer read to the end: the status, or 0 on an error or after 30 s. */
export function postForStatus(agent: Agent, url: URL, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise<number>((resolve) => {
    const call = request({ agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: "POST", headers }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    call.setTimeout(30_000, () => call.destroy(new Error("timeout")));
    call.on("error", () => resolve(0));
    call.end(body);
  });
}

export async function sequential(target: LoadTarget, count: number): Promise<LoadResult> {
  const url = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = Buffer.from(target.body);
  const headers = { ...target.headers, "content-length": String(body.byteLength) };
  const latencies = new Float64Array(count);
  let completed = 0;
  let failures = 0;
  const startedAt = performance.now();
  for (let index = 0; index < count; index++) {
    const sentAt = performance.now();
    const status = await postForStatus(agent, url, headers, body);
    if (status >= 200 && status < 300) latencies[completed++] = performance.now() - sentAt;
    else failures += 1;
  }
  agent.destroy();
  return resultOf(latencies.slice(0, completed), (performance.now() - startedAt) / 1000, failures, 0);
}
