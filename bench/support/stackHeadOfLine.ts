import "../../local/quietTestModeWarnings.js";
import { AzureNamedKeyCredential, TableClient, type TransactionAction } from "@azure/data-tables";
import { ServiceBusClient } from "@azure/service-bus";
import { DEVSTORE_ACCOUNT, DEVSTORE_KEY } from "../../local/azurite.js";
import { startIsolatedLocalStack } from "../../local/isolatedStack.js";
import { watchLoop } from "../../local/loopWatch.js";
import { startLocalStack } from "../../local/stack.js";

/**
 * The head-of-line wait `npm start` had (issue 22, "find the tail"): Service Bus sends, one at a time
 * as a one-caller request makes them, while Azurite takes 100-row transactions into one growing
 * partition (what the audit append does, in the same process). With the emulators on one event loop
 * a send's frame waits behind each transaction and each GC of Azurite's heap; with each emulator in
 * its own thread (local/isolatedStack.ts) it should not. The clients run on this process's main
 * thread, as the app does in `npm start`.
 *
 *   node dist/bench/support/stackHeadOfLine.js single|threads [sends=1000] [writers=2] [prefill=0]
 *
 * `prefill` rows are written before the sends are timed, so both shapes measure the same grown heap
 * (an audit chain after hours of `npm start`).
 *
 * Prints ONE JSON line: send latency p50/p99/max (ms), rows written, and this thread's loop delay and GC.
 */

const percentile = (sorted: readonly number[], fraction: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;

async function main(): Promise<void> {
  const mode = process.argv[2] === "single" ? "single" : "threads";
  const sends = Number(process.argv[3] ?? 1_000);
  const writers = Number(process.argv[4] ?? 2);
  const prefill = Number(process.argv[5] ?? 0);
  const stack = mode === "single" ? await startLocalStack() : await startIsolatedLocalStack();
  const loop = watchLoop();
  const table = new TableClient(stack.azurite.tableEndpoint, "headofline", new AzureNamedKeyCredential(DEVSTORE_ACCOUNT, DEVSTORE_KEY), { allowInsecureConnection: true });
  await table.createTable();
  const serviceBus = new ServiceBusClient(stack.environment.SERVICEBUS_CONNECTION_STRING ?? "");
  const sender = serviceBus.createSender(stack.environment.SERVICEBUS_AUDIT_QUEUE ?? "audit-events");
  await sender.sendMessages({ body: "warm-up", sessionId: "chain" });

  let rows = 0;
  let writing = true;
  let batch = 0;
  const write = async (writer: number, until: () => boolean): Promise<void> => {
    while (!until()) {
      const round = batch++;
      const actions = Array.from({ length: 100 }, (_, i): TransactionAction => ["create", { partitionKey: "chain", rowKey: `${writer}-${String(round * 100 + i).padStart(10, "0")}`, entry: "x".repeat(400) }]);
      await table.submitTransaction(actions);
      rows += 100;
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, writer) => write(writer, () => rows >= prefill)));
  const prefilled = rows;
  loop.read();
  if ("diagnostics" in stack) await stack.diagnostics();
  const writing_ = Array.from({ length: writers }, (_, writer) => write(writer, () => !writing));
  const latencies: number[] = [];
  for (let index = 0; index < sends; index++) {
    const startedAt = performance.now();
    await sender.sendMessages({ body: { index, padding: "y".repeat(600) }, sessionId: "chain" });
    latencies.push(performance.now() - startedAt);
  }
  writing = false;
  await Promise.all(writing_);
  const diagnostics = loop.read();
  const threads = "diagnostics" in stack ? await stack.diagnostics() : null;
  await sender.close();
  await serviceBus.close();
  await stack.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (ms: number): number => Number(ms.toFixed(2));
  process.stdout.write(
    `${JSON.stringify({
      mode,
      sends,
      writers,
      prefilled,
      rowsDuringSends: rows - prefilled,
      sendP50Ms: round(percentile(sorted, 0.5)),
      sendP90Ms: round(percentile(sorted, 0.9)),
      sendP99Ms: round(percentile(sorted, 0.99)),
      sendMaxMs: round(sorted[sorted.length - 1] ?? 0),
      sendsOver10Ms: sorted.filter((ms) => ms >= 10).length,
      mainLoopDelayMaxMs: diagnostics.loopDelayMaxMs,
      mainGcMs: diagnostics.gcMs,
      mainGcMaxMs: diagnostics.gcMaxMs,
      ...(threads ? { azuriteGcMs: threads.azurite.gcMs, azuriteGcMaxMs: threads.azurite.gcMaxMs, serviceBusLoopDelayMaxMs: threads.servicebus.loopDelayMaxMs, serviceBusGcMaxMs: threads.servicebus.gcMaxMs } : {}),
    })}\n`,
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`stackHeadOfLine failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
