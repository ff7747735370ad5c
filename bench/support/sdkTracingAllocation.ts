import { createTracingClient, useInstrumenter } from "@azure/core-tracing";
import { quietSdkInstrumenter } from "../../src/adapters/azure/quietSdkTracing.js";
import { watchHeap } from "./heapWatch.js";

/**
 * Bytes an Azure SDK call's tracing allocates (V8's GC profiler, bench/support/heapWatch.ts), as a
 * Service Bus send wraps itself (`withSpan` with a span kind and links), with the SDKs' default no-op
 * instrumenter and with `quietSdkInstrumenter`, alternated in one process.
 *
 *   node dist/bench/support/sdkTracingAllocation.js [ROUNDS=6]
 *
 * What is printed includes the call's own async function and promise, the same for both.
 */

const PER_ROUND = 50_000;
const client = createTracingClient({ namespace: "Microsoft.ServiceBus", packageName: "@azure/service-bus", packageVersion: "7.9.5" });

async function calls(count: number): Promise<number> {
  let total = 0;
  for (let index = 0; index < count; index += 1) total += await client.withSpan("ServiceBusSender.send", { tracingOptions: {} }, async (options) => (options.tracingOptions ? 1 : 0), { spanKind: "client", spanLinks: [] });
  return total;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 6);
  const instrumenters = [
    // Unset: core-tracing makes its default no-op again on the next span.
    { name: "default no-op", use: () => useInstrumenter(undefined as unknown as typeof quietSdkInstrumenter), bytes: [] as number[] },
    { name: "quietSdkInstrumenter", use: () => useInstrumenter(quietSdkInstrumenter), bytes: [] as number[] },
  ];
  const heap = watchHeap();
  for (let round = 0; round < rounds; round += 1) {
    for (const instrumenter of round % 2 === 0 ? instrumenters : [...instrumenters].reverse()) {
      instrumenter.use();
      await calls(PER_ROUND / 5);
      heap.read();
      await calls(PER_ROUND);
      instrumenter.bytes.push(heap.read().youngAllocatedBytes / PER_ROUND);
    }
  }
  heap.close();
  for (const instrumenter of instrumenters) {
    const sorted = [...instrumenter.bytes].sort((a, b) => a - b);
    process.stdout.write(`${instrumenter.name}: ${(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN).toFixed(0)} bytes per traced call (median of ${rounds} rounds of ${PER_ROUND})\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`sdkTracingAllocation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
