/**
 * Telemetry's own CPU per governed completion, in absolute terms — a measurement, not a test (vitest
 * does not pick it up). It drives OtelGatewayTelemetry through the calls the governed pipeline makes for
 * a typical served request (authenticate, authorize, inspect, route, limit, one upstream attempt,
 * settle, inspect_output, audit_publish, end with usage, cost and findings) with nothing else around
 * them, so the figure is telemetry's alone, not a difference of two noisy totals. The traced share
 * goes through the SDK (BatchSpanProcessor) to the OTLP/JSON serialiser the `otlp` exporter uses,
 * whose output is dropped. How to run it and what it found: docs/observability.md.
 */
import { ExportResultCode } from "@opentelemetry/core";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { type GatewayTelemetry, type RequestTelemetry, untracedGatewayTelemetry } from "../../../src/core/telemetry/GatewayTelemetry.js";
import { measurementSdk } from "./measurementSdk.js";

const REQUESTS = Number(process.env.REQUESTS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 9);

/** What the `otlp` exporter does with a batch before sending it: serialise it to OTLP/JSON. */
class OtlpJsonDroppingExporter implements SpanExporter {
  bytes = 0;
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    this.bytes += JsonTraceSerializer.serializeRequest(spans)?.byteLength ?? 0;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

const ENDPOINT = {
  id: "eu-west-standard",
  provider: "azure",
  baseUrl: "https://eu-west-standard.openai.azure.com",
  region: "westeurope",
  residency: "eu",
  class: "standard",
  deployments: ["gpt-4o-mini"],
  priority: 1,
  auth: { kind: "none" },
  timeoutInMs: 10_000,
} as unknown as EndpointPolicy;

const USAGE = { promptTokens: 61, cachedPromptTokens: 0, completionTokens: 42 };
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const nothing = async (): Promise<void> => undefined;

/** The telemetry calls of one served request, in the governed pipeline's order. */
async function oneRequest(telemetry: GatewayTelemetry, traceparent: string | undefined): Promise<void> {
  const request: RequestTelemetry = telemetry.startRequest(traceparent);
  await request.stage("authenticate", nothing);
  request.stageSync("authorize", () => 1);
  request.stageSync("inspect", () => 2);
  request.stageSync("route", () => 3);
  await request.stage("limit", nothing);
  await request.attempt(ENDPOINT, "gpt-4o-mini", async (upstream) => upstream, () => ({ responseModel: "gpt-4o-mini-2024-07-18", usage: USAGE }));
  await request.stage("settle", nothing);
  request.stageSync("inspect_output", () => 4);
  await request.stage("audit_publish", nothing);
  request.end({
    project: "bench",
    model: "gpt-4o-mini",
    dataClass: "internal",
    inputFindings: {},
    dlpAction: "redact",
    outputFindings: {},
    outputDlpAction: "redact",
    endpoint: ENDPOINT,
    responseModel: "gpt-4o-mini-2024-07-18",
    usage: USAGE,
    costUsd: 0.0000344,
    attempts: 1,
    status: 200,
  });
}

interface Mode {
  readonly name: string;
  readonly telemetry: GatewayTelemetry;
  readonly flush: () => Promise<void>;
}

function sdkMode(name: string, traceSampleRatio: number): Mode {
  const sdk = measurementSdk(traceSampleRatio, new BatchSpanProcessor(new OtlpJsonDroppingExporter()));
  return { name, telemetry: sdk.telemetry(), flush: sdk.flush };
}

async function run(mode: Mode, count: number): Promise<number> {
  const before = process.cpuUsage();
  for (let index = 0; index < count; index++) await oneRequest(mode.telemetry, index % 2 === 0 ? TRACEPARENT : undefined);
  await mode.flush();
  const cpu = process.cpuUsage(before);
  return (cpu.user + cpu.system) / count;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const modes: Mode[] = [
  { name: "off (untraced)", telemetry: untracedGatewayTelemetry, flush: async () => undefined },
  sdkMode("metrics only (traceSampleRatio 0)", 0),
  sdkMode("metrics + 1% of traces (default)", 0.01),
  sdkMode("metrics + every trace (traceSampleRatio 1)", 1),
];
const chosen = (process.env.MODES ?? "0,1,2,3").split(",").map(Number);
const measured = chosen.map((index) => modes[index]).filter((mode): mode is Mode => mode !== undefined);
for (const mode of measured) await run(mode, 5_000);
const perRound = measured.map((): number[] => []);
for (let round = 0; round < ROUNDS; round++) for (const [index, mode] of measured.entries()) perRound[index]?.push(await run(mode, REQUESTS));
const base = median(perRound[0] ?? []);
console.log(`${ROUNDS} rounds x ${REQUESTS} requests, node ${process.version}; median round; half the requests carry a sampled traceparent`);
for (const [index, mode] of measured.entries()) {
  const cpu = median(perRound[index] ?? []);
  console.log(`${mode.name.padEnd(48)} ${cpu.toFixed(2).padStart(8)} µs CPU/request   ${index === 0 ? "" : `telemetry: ${(cpu - base).toFixed(2)} µs`}`);
}
