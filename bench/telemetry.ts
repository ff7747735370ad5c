import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { startMockOpenAi } from "../local/mockOpenAi/index.js";
import { startLocalStack } from "../local/stack.js";
import { DEFAULT_TRACE_SAMPLE_RATIO } from "../src/composition/telemetry.js";
import { benchPolicy, REQUEST_BODY, startGatewayChild } from "./gateway.js";
import { stopChild } from "./support/stopChild.js";
import { type LoadResult, type LoadTarget, closedLoop, fixedRate } from "./support/load.js";
import { affinityOf, canPin, pin, sampleProcess } from "./support/procStats.js";

/**
 * What telemetry costs the real gateway: two gateway children (bench/support/gatewayServer.ts, the
 * local Functions host and the app's services) in the same run, one with PALISADE_TELEMETRY_EXPORTER=
 * none, one with `otlp` (the SDK, batched spans at the default sample ratio, periodic metrics) to a sink
 * in this process that reads and drops what it is sent. Both are pinned to core 1 and loaded one at a
 * time, in rounds that alternate off/on (then on/off), at a fixed rate and in a closed loop; CPU per
 * request is the child's utime + stime (/proc, all threads) over the requests of the round. The median
 * round per mode is reported, and the overhead is the median of the rounds' paired overheads.
 * Same configuration and request as bench/gateway.ts. See docs/observability.md.
 */

/** Well under saturation for a ~2 ms request on one (shared) core; still 5-10x what the target's 300 µs needs. */
const RATE = 200;
const CONNECTIONS = 16;

/** An OTLP/HTTP collector stand-in: reads every body, counts what arrived, answers 200 and keeps nothing. */
interface OtlpSink {
  readonly url: string;
  readonly received: { traceExports: number; metricExports: number; spans: number; bytes: number };
  stop(): Promise<void>;
}

function countSpans(body: string): number {
  try {
    const parsed = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
    let spans = 0;
    for (const resource of parsed.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
    return spans;
  } catch {
    return 0;
  }
}

async function startOtlpSink(): Promise<OtlpSink> {
  const received = { traceExports: 0, metricExports: 0, spans: 0, bytes: 0 };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      received.bytes += body.byteLength;
      if (request.url?.startsWith("/v1/traces")) {
        received.traceExports += 1;
        received.spans += countSpans(body.toString("utf8"));
      } else if (request.url?.startsWith("/v1/metrics")) received.metricExports += 1;
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

type Mode = "off" | "on";

interface ModeTarget {
  readonly mode: Mode;
  readonly pid: number;
  readonly target: LoadTarget;
}

export async function runTelemetryBench(options: { quick: boolean; log?: (line: string) => void }): Promise<Record<string, number>> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  // Quick: 2.5 s of warm-up, 4 rounds of 1 s at the fixed rate and 2 of 1 s closed loop, per mode (~17 s of load).
  const rateRounds = options.quick ? 4 : 8;
  const rateSeconds = options.quick ? 1 : 5;
  const closedRounds = options.quick ? 2 : 6;
  const closedSeconds = options.quick ? 1 : 3;
  const directory = await mkdtemp(join(tmpdir(), "palisade-bench-telemetry-"));
  const [stack, mock, sink] = await Promise.all([
    startLocalStack({ stateDirectory: directory }),
    startMockOpenAi({ name: "eu-west-standard", region: "westeurope", maxRecorded: 10 }),
    startOtlpSink(),
  ]);
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify(benchPolicy(mock.url, true)));

  const pinned = canPin(availableParallelism());
  const originalAffinity = pinned ? affinityOf(process.pid) : null;
  const children: Awaited<ReturnType<typeof startGatewayChild>>["child"][] = [];
  try {
    if (pinned) pin(process.pid, "0");
    const common = { ...stack.environment, PALISADE_POLICY: policyPath, PALISADE_LOG_LEVEL: "error", PALISADE_BENCH_PROJECT: "bench", PALISADE_BENCH_SERVICE_ACCOUNT: "bench-app" };
    const environments: Record<Mode, Record<string, string>> = {
      off: { ...common, PALISADE_TELEMETRY_EXPORTER: "none" },
      on: {
        ...common,
        PALISADE_TELEMETRY_EXPORTER: "otlp",
        PALISADE_TRACE_SAMPLE_RATIO: String(DEFAULT_TRACE_SAMPLE_RATIO),
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        // The SDK's defaults otherwise (BatchSpanProcessor: every 5 s; metrics every 60 s).
      },
    };
    const started = await Promise.all(
      (["off", "on"] as const).map(async (mode): Promise<ModeTarget> => {
        const { child, ready } = await startGatewayChild(environments[mode], pinned ? "1" : null, null);
        children.push(child);
        return {
          mode,
          pid: ready.pid,
          target: { url: `${ready.url}/v1/chat/completions`, headers: { "content-type": "application/json", authorization: `Bearer ${ready.apiKey}` }, body: REQUEST_BODY },
        };
      }),
    );
    for (const { mode, target } of started) {
      const probe = await fetch(target.url, { method: "POST", headers: target.headers, body: target.body });
      if (probe.status !== 200) throw new Error(`the gateway (telemetry ${mode}) refused the bench request: ${probe.status} ${(await probe.text()).slice(0, 500)}`);
    }
    log(`telemetry bench: warming up (${pinned ? "both gateways pinned to core 1, load on core 0" : "taskset unavailable: not pinned"})`);
    for (const { target } of started) {
      // The JIT, the key cache, the storage and AMQP connections; the SDK's first exports.
      const warm = await closedLoop(target, CONNECTIONS, options.quick ? 2.5 : 8);
      if (warm.requests === 0) throw new Error("a gateway answered no request with 2xx during warm-up");
    }

    const measure = async (child: ModeTarget, run: (target: LoadTarget) => Promise<LoadResult>): Promise<{ cpu: number; requests: number }> => {
      const before = sampleProcess(child.pid);
      const result = await run(child.target);
      const after = sampleProcess(child.pid);
      const handled = result.requests + result.failures;
      if (result.requests === 0) throw new Error(`the gateway (telemetry ${child.mode}) served no request in a round`);
      if (result.failures > 0 || result.dropped > 0) log(`telemetry bench: ${child.mode}: ${result.failures} failures, ${result.dropped} not sent in a round`);
      return { cpu: (after.cpuMicros - before.cpuMicros) / handled, requests: handled };
    };

    const results: Record<string, number> = {};
    const scenario = async (name: string, rounds: number, run: (target: LoadTarget) => Promise<LoadResult>): Promise<{ off: number; on: number; overhead: number }> => {
      const perMode: Record<Mode, number[]> = { off: [], on: [] };
      const paired: number[] = [];
      for (let index = 0; index < rounds; index++) {
        // Alternate the order, so a drift in the machine's load weighs on both modes alike.
        const order = index % 2 === 0 ? started : [...started].reverse();
        const measured: Partial<Record<Mode, { cpu: number; requests: number }>> = {};
        for (const child of order) measured[child.mode] = await measure(child, run);
        const off = measured.off?.cpu ?? Number.NaN;
        const on = measured.on?.cpu ?? Number.NaN;
        perMode.off.push(off);
        perMode.on.push(on);
        paired.push(((on - off) / off) * 100);
        log(
          `telemetry bench: ${name} round ${index + 1}/${rounds}: off ${off.toFixed(0)} µs (${measured.off?.requests ?? 0} requests), ` +
            `on ${on.toFixed(0)} µs (${measured.on?.requests ?? 0}) CPU/request: ${(((on - off) / off) * 100).toFixed(1)}%`,
        );
      }
      const summary = { off: median(perMode.off), on: median(perMode.on), overhead: median(paired) };
      results[`${name}.cpuMicrosPerRequestOff`] = round(summary.off, 0);
      results[`${name}.cpuMicrosPerRequestOn`] = round(summary.on, 0);
      results[`${name}.overheadPercent`] = round(summary.overhead, 1);
      results[`${name}.overheadMicros`] = round(median(perMode.on.map((on, index) => on - (perMode.off[index] ?? Number.NaN))), 0);
      return summary;
    };

    const atRate = await scenario(`rate${RATE}`, rateRounds, (target) => fixedRate(target, RATE, rateSeconds));
    await scenario(`closed${CONNECTIONS}`, closedRounds, (target) => closedLoop(target, CONNECTIONS, closedSeconds));

    // Stop the gateways first: the "on" one flushes its last spans and metrics to the sink as it stops.
    await Promise.all(children.map((child) => stopChild(child)));
    children.length = 0;
    log(
      `telemetry bench: at ${RATE} req/s: off ${atRate.off.toFixed(0)} µs, on ${atRate.on.toFixed(0)} µs CPU/request, overhead ${atRate.overhead.toFixed(1)}% ` +
        `(the sink got ${sink.received.spans} spans in ${sink.received.traceExports} exports, ${sink.received.metricExports} metric exports)`,
    );
    if (sink.received.traceExports === 0) throw new Error("the gateway with telemetry on exported no span to the OTLP sink: the bench measured nothing");
    return {
      cpuMicrosPerRequestOff: round(atRate.off, 0),
      cpuMicrosPerRequestOn: round(atRate.on, 0),
      overheadPercent: round(atRate.overhead, 1),
      ...results,
      spansExported: sink.received.spans,
      traceExports: sink.received.traceExports,
      metricExports: sink.received.metricExports,
      traceSampleRatio: DEFAULT_TRACE_SAMPLE_RATIO,
      pinned: pinned ? 1 : 0,
    };
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    if (originalAffinity) pin(process.pid, originalAffinity);
    await Promise.allSettled([mock.stop(), stack.stop(), sink.stop()]);
    await rm(directory, { recursive: true, force: true });
  }
}
