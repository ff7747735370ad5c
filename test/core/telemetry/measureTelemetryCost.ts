/**
 * CPU per governed completion with telemetry off and on — a measurement, not a test (vitest does not
 * pick it up). The governed pipeline over the gateway harness's fakes, in one process, so only the
 * gateway's own work is measured. How to run it and what it found: docs/observability.md.
 */
import { createNoopMeter, trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  NoopSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { highResolutionClock } from "../../../src/composition/telemetry.js";
import { InProcessHistograms } from "../../../src/adapters/telemetry/PreAggregatedHistogram.js";
import { type GatewayTelemetry, untracedGatewayTelemetry } from "../../../src/core/telemetry/GatewayTelemetry.js";
import { OtelGatewayTelemetry } from "../../../src/adapters/telemetry/OtelGatewayTelemetry.js";
import { gatewayHarness } from "../gateway/gatewayHarness.js";
import { measurementSdk } from "./measurementSdk.js";

const BATCH = Number(process.env.BATCH ?? 1_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WARMUP = 2_000;

const SYSTEM = "You are a concise assistant for an internal finance team. Answer in plain English.";
const QUESTION =
  "Summarise in two sentences why the third-quarter operating margin fell while revenue grew, given that freight costs rose, " +
  "the new warehouse opened in September and the marketing budget was front-loaded into July and August.";

/** An exporter that does what a real one must at least do: serialise each span (here to JSON), then drop it. */
class SerializingSpanExporter implements SpanExporter {
  bytes = 0;
  constructor(private readonly serialize: boolean) {}
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    if (this.serialize) {
      for (const span of spans) {
        this.bytes += JSON.stringify({ name: span.name, kind: span.kind, start: span.startTime, end: span.endTime, attributes: span.attributes, events: span.events, context: span.spanContext(), status: span.status }).length;
      }
    }
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

interface Mode {
  readonly name: string;
  readonly telemetry: (() => GatewayTelemetry) | undefined;
  /** Runs inside the timed window after each batch: what the exporters would do with the batch. */
  readonly flush: () => Promise<void>;
  readonly shutdown: () => Promise<void>;
}

function sdkMode(name: string, traceSampleRatio: number, processor: SpanProcessor = new BatchSpanProcessor(new SerializingSpanExporter(true))): Mode {
  const sdk = measurementSdk(traceSampleRatio, processor);
  return { name, telemetry: sdk.telemetry, flush: sdk.flush, shutdown: sdk.shutdown };
}

const SYSTEM_PROMPT = { role: "system", content: SYSTEM };

async function prepare(mode: Mode) {
  const h = await gatewayHarness(mode.telemetry === undefined ? {} : { telemetry: mode.telemetry });
  const request = () => h.request({ body: { model: "gpt-4o-mini", messages: [SYSTEM_PROMPT, { role: "user", content: QUESTION }], max_tokens: 128, temperature: 0.2 } });
  return {
    async run(count: number): Promise<number> {
      globalThis.gc?.();
      const before = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        await h.service.handle(request());
        // The fakes record every call and event; drop them so the heap stays flat (as in production).
        if (i % 100 === 99) {
          h.audit.clear();
          h.provider.calls.length = 0;
          h.publisherProjects.length = 0;
        }
      }
      await mode.flush();
      const cpu = process.cpuUsage(before);
      return (cpu.user + cpu.system) / count;
    },
  };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function main(): Promise<void> {
  const factories: (() => Mode)[] = [
    () => ({ name: "off (PALISADE_TELEMETRY_EXPORTER=none)", telemetry: undefined, flush: async () => undefined, shutdown: async () => undefined }),
    () => sdkMode("on: metrics + every trace (traceSampleRatio 1)", 1),
    () => sdkMode("on: metrics + 10% of traces (traceSampleRatio 0.1)", 0.1),
    () => sdkMode("on: metrics only (traceSampleRatio 0)", 0),
    () => ({ name: "control: off again (noise floor)", telemetry: undefined, flush: async () => undefined, shutdown: async () => undefined }),
    () => sdkMode("control: every trace, spans not kept (NoopSpanProcessor)", 1, new NoopSpanProcessor()),
    () => ({
      name: "control: API no-op tracer and meter (wrapper cost)",
      telemetry: () => new OtelGatewayTelemetry({ tracer: trace.getTracer("palisade"), meter: createNoopMeter(), histograms: new InProcessHistograms(), clock: highResolutionClock }),
      flush: async () => undefined,
      shutdown: async () => undefined,
    }),
    () => ({ name: "control: untraced, injected", telemetry: () => untracedGatewayTelemetry, flush: async () => undefined, shutdown: async () => undefined }),
    () => sdkMode("on: metrics + 5% of traces (traceSampleRatio 0.05)", 0.05),
    () => sdkMode("on: metrics + 1% of traces (traceSampleRatio 0.01, default)", 0.01),
    () => {
      const tracerProvider = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
      const tracer = tracerProvider.getTracer("palisade");
      return {
        name: "control: SDK tracer sampling every span out, no-op meter",
        telemetry: () => new OtelGatewayTelemetry({ tracer, meter: createNoopMeter(), histograms: new InProcessHistograms(), clock: highResolutionClock }),
        flush: async () => undefined,
        shutdown: () => tracerProvider.shutdown(),
      };
    },
    () => {
      const sdk = measurementSdk(0, null);
      return { name: "control: no-op tracer, SDK meter", telemetry: sdk.telemetry, flush: sdk.flush, shutdown: sdk.shutdown };
    },
  ];
  // MODES=0,3 measures only those (default 0-3; 4-6 are controls).
  const chosen = (process.env.MODES ?? "0,1,2,3").split(",").map(Number);
  const modes = chosen.map((index) => factories[index]).filter((factory) => factory !== undefined).map((factory) => factory());
  const runners = [];
  for (const mode of modes) runners.push(await prepare(mode));
  for (const runner of runners) await runner.run(WARMUP);
  const perRound = modes.map((): number[] => []);
  // Rounds interleave the modes, so drift (JIT, other processes on the machine) spreads over all of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, runner] of runners.entries()) perRound[index]?.push(await runner.run(BATCH));
  }
  const base = median(perRound[0] ?? []); // the first mode chosen is the baseline
  console.log(`${ROUNDS} rounds x ${BATCH} requests per mode (${ROUNDS * BATCH} each), node ${process.version}; median of rounds`);
  for (const [index, mode] of modes.entries()) {
    const cpu = median(perRound[index] ?? []);
    console.log(`${mode.name.padEnd(60)} ${cpu.toFixed(1).padStart(7)} µs CPU/request  ${index === 0 ? "" : `+${(cpu - base).toFixed(1)} µs (${(((cpu - base) / base) * 100).toFixed(1)}%)`}`);
  }
  for (const mode of modes) await mode.shutdown();
}

await main();
