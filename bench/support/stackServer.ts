import "../../local/quietTestModeWarnings.js";
import { createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { startLocalStack } from "../../local/stack.js";
import { startCountingProxy } from "./countingProxy.js";

/**
 * The local stack (Azurite, the Service Bus and Key Vault emulators) alone in its own process, as
 * Azure runs those services on their own machines: their CPU is measured apart from the instance's.
 * Table calls go through a counting proxy; the emulators count their own operations. Prints ONE JSON
 * line `{"environment","statsUrl","pid"}`; `GET statsUrl` answers the operation counts and queue
 * depth. Stops on SIGTERM or when stdin closes.
 */

export interface StackServerReady {
  readonly environment: Readonly<Record<string, string>>;
  readonly statsUrl: string;
  readonly pid: number;
}

export interface StackStats {
  readonly operations: Readonly<Record<string, number>>;
  /** Audit messages not yet appended (active, locked, deferred, scheduled). */
  readonly auditQueueDepth: number;
  readonly auditDeadLettered: number;
}

async function main(): Promise<void> {
  const directory = process.argv[2];
  const stack = await startLocalStack(directory ? { stateDirectory: directory } : {});
  const tableProxy = await startCountingProxy(stack.azurite.tableEndpoint.replace(/\/devstoreaccount1$/, ""));
  const queue = stack.environment.SERVICEBUS_AUDIT_QUEUE ?? "audit-events";
  const stats = createServer((_request, response) => {
    const body: StackStats = {
      operations: { ...tableProxy.operations(), ...prefixed("servicebus", stack.serviceBus.operations()), ...prefixed("keyvault", stack.keyVault.operations()) },
      auditQueueDepth: stack.serviceBus.queueDepth(queue),
      auditDeadLettered: stack.serviceBus.queueDepth(`${queue}/$DeadLetterQueue`),
    };
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => stats.listen(0, "127.0.0.1", resolve));
  const environment = {
    ...stack.environment,
    AZURE_STORAGE_CONNECTION_STRING: stack.environment.AZURE_STORAGE_CONNECTION_STRING?.replace(stack.azurite.tableEndpoint, `${tableProxy.url}/devstoreaccount1`) ?? "",
  };
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    stats.close();
    await tableProxy.stop().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
  const ready: StackServerReady = { environment, statsUrl: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats`, pid: process.pid };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

function prefixed(prefix: string, counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([kind, count]) => [`${prefix}.${kind}`, count]));
}

main().catch((error: unknown) => {
  process.stderr.write(`stack bench server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
