import "../../local/quietTestModeWarnings.js";
import { createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { startIsolatedLocalStack } from "../../local/isolatedStack.js";
import { type LoopDiagnostics } from "../../local/loopWatch.js";
import { startLocalStack } from "../../local/stack.js";
import { startCountingProxy } from "./countingProxy.js";
import { serveLoopDiagnostics, worstOf } from "./loopDiagnostics.js";

/**
 * The local stack (Azurite, the Service Bus and Key Vault emulators) alone in its own process, as
 * Azure runs those services on their own machines: their CPU is measured apart from the instance's.
 * Each emulator runs in a worker thread of its own, as in `npm start` (local/isolatedStack.ts);
 * PALISADE_BENCH_STACK=single runs them all on this process's one event loop instead, to compare.
 * Table calls go through a counting proxy (on the main thread); the emulators count their own
 * operations. Prints ONE JSON line `{"environment","statsUrl","pid","diagnosticsUrl"}`; `GET statsUrl`
 * answers the operation counts and queue depth, `GET diagnosticsUrl` every thread's loop delay and GC
 * since the last read. Stops on SIGTERM or when stdin closes.
 */

export interface StackServerReady {
  readonly environment: Readonly<Record<string, string>>;
  readonly statsUrl: string;
  readonly pid: number;
  /** The stack's event-loop delay and GC since the last read, worst over its threads (bench/support/loopDiagnostics.ts). */
  readonly diagnosticsUrl: string;
}

export interface StackStats {
  readonly operations: Readonly<Record<string, number>>;
  /** Audit messages not yet appended (active, locked, deferred, scheduled). */
  readonly auditQueueDepth: number;
  readonly auditDeadLettered: number;
}

/** The two shapes the bench can run, behind what the stats and diagnostics servers need. */
interface BenchStack {
  readonly tableEndpoint: string;
  readonly environment: Readonly<Record<string, string>>;
  stats(queue: string): Promise<{ operations: Record<string, number>; depth: number; deadLettered: number }>;
  threadDiagnostics(): Promise<Record<string, LoopDiagnostics>>;
  stop(): Promise<void>;
}

async function startBenchStack(stateDirectory: string | undefined): Promise<BenchStack> {
  const options = stateDirectory ? { stateDirectory } : {};
  if (process.env.PALISADE_BENCH_STACK === "single") {
    const stack = await startLocalStack(options);
    return {
      tableEndpoint: stack.azurite.tableEndpoint,
      environment: stack.environment,
      stats: async (queue) => ({
        operations: { ...prefixed("servicebus", stack.serviceBus.operations()), ...prefixed("keyvault", stack.keyVault.operations()) },
        depth: stack.serviceBus.queueDepth(queue),
        deadLettered: stack.serviceBus.queueDepth(`${queue}/$DeadLetterQueue`),
      }),
      threadDiagnostics: async () => ({}),
      stop: () => stack.stop(),
    };
  }
  const stack = await startIsolatedLocalStack(options);
  void stack.failure.then((error) => {
    process.stderr.write(`stack bench server: ${error.message}\n`);
    process.exit(1);
  });
  return {
    tableEndpoint: stack.azurite.tableEndpoint,
    environment: stack.environment,
    async stats(queue) {
      const { operations, queueDepths } = await stack.stats([queue]);
      // The Table counts come from the counting proxy; content safety is not on this bench's path.
      const kept = Object.fromEntries(Object.entries(operations).filter(([kind]) => kind.startsWith("servicebus.") || kind.startsWith("keyvault.")));
      return { operations: kept, depth: queueDepths[queue] ?? 0, deadLettered: queueDepths[`${queue}/$DeadLetterQueue`] ?? 0 };
    },
    threadDiagnostics: () => stack.diagnostics(),
    stop: () => stack.stop(),
  };
}

async function main(): Promise<void> {
  const stack = await startBenchStack(process.argv[2]);
  const tableProxy = await startCountingProxy(stack.tableEndpoint.replace(/\/devstoreaccount1$/, ""));
  const queue = stack.environment.SERVICEBUS_AUDIT_QUEUE ?? "audit-events";
  const stats = createServer((_request, response) => {
    void stack.stats(queue).then(
      ({ operations, depth, deadLettered }) => {
        const body: StackStats = { operations: { ...tableProxy.operations(), ...operations }, auditQueueDepth: depth, auditDeadLettered: deadLettered };
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      },
      (error: unknown) => response.writeHead(500).end(error instanceof Error ? error.message : "stats failed"),
    );
  });
  await new Promise<void>((resolve) => stats.listen(0, "127.0.0.1", resolve));
  // With the stack's loop and GC, how long Azurite took per Table operation (at the counting proxy).
  const diagnostics = await serveLoopDiagnostics(async (own) => ({ ...worstOf({ main: own, ...(await stack.threadDiagnostics()) }), stages: tableProxy.latencies() }));
  const environment = {
    ...stack.environment,
    AZURE_STORAGE_CONNECTION_STRING: stack.environment.AZURE_STORAGE_CONNECTION_STRING?.replace(stack.tableEndpoint, `${tableProxy.url}/devstoreaccount1`) ?? "",
  };
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    stats.close();
    diagnostics.close();
    await tableProxy.stop().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
  const ready: StackServerReady = { environment, statsUrl: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats`, pid: process.pid, diagnosticsUrl: diagnostics.url };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

function prefixed(prefix: string, counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([kind, count]) => [`${prefix}.${kind}`, count]));
}

main().catch((error: unknown) => {
  process.stderr.write(`stack bench server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
