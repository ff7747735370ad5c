import { getAppServices } from "../../src/composition/appServices.js";
import { startLocalHost } from "../../local/host/index.js";
import { loadFunctionDefinitions } from "../../local/loadFunctionDefinitions.js";

/**
 * The gateway alone in its own process, for the benchmark: the local Functions host serving the
 * compiled function definitions, with the app's services built from the environment the parent
 * passes (the local stack's settings and PALISADE_POLICY). Azurite, the emulators and the mock
 * upstream stay in the parent, so this process's CPU time and RSS are the gateway's own.
 *
 * Prints ONE JSON line on stdout once it serves: `{"url","pid","apiKey"}`. Stops on SIGTERM or
 * when stdin closes (the parent died).
 */

export interface GatewayServerReady {
  readonly url: string;
  readonly pid: number;
  readonly apiKey: string;
}

async function main(): Promise<void> {
  const project = process.env.PALISADE_BENCH_PROJECT ?? "bench";
  const serviceAccount = process.env.PALISADE_BENCH_SERVICE_ACCOUNT ?? "bench-app";
  const services = await getAppServices();
  const { apiKey } = await services.apiKeys.create({ project, serviceAccount, expiresInMs: 3_600_000 });
  const host = await startLocalHost({ definitions: await loadFunctionDefinitions(), log: () => undefined });

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await host.stop().catch(() => undefined);
    await services.close().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.resume();

  const ready: GatewayServerReady = { url: host.url, pid: process.pid, apiKey };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway bench server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
