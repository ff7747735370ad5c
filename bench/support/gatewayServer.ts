import { getAppServices } from "../../src/composition/appServices.js";
import { startLocalHost } from "../../local/host/index.js";
import { loadFunctionDefinitions } from "../../local/loadFunctionDefinitions.js";
import { type BenchChildReady, serveUntilStopped } from "./benchChild.js";

/**
 * The gateway alone in its own process, for the benchmark: the local Functions host serving the
 * compiled function definitions, with the app's services built from the environment the parent
 * passes (the local stack's settings and PALISADE_POLICY). Azurite, the emulators and the mock
 * upstream stay in the parent, so this process's CPU time and RSS are the gateway's own.
 *
 * Prints ONE JSON line on stdout once it serves: `{"url","pid","apiKey"}`. Stops on SIGTERM or
 * when stdin closes (the parent died).
 */

export type GatewayServerReady = BenchChildReady;

async function main(): Promise<void> {
  const project = process.env.PALISADE_BENCH_PROJECT ?? "bench";
  const serviceAccount = process.env.PALISADE_BENCH_SERVICE_ACCOUNT ?? "bench-app";
  const services = await getAppServices();
  const { apiKey } = await services.apiKeys.create({ project, serviceAccount, expiresInMs: 3_600_000 });
  // PALISADE_BENCH_DEPLOYED=1: the instance as Azure and `npm start` run it, also consuming the audit
  // queue (appending to the chain) and running its timers (bench/deployed.ts).
  const deployed = process.env.PALISADE_BENCH_DEPLOYED === "1";
  const host = await startLocalHost({ definitions: await loadFunctionDefinitions(), log: () => undefined, runTimers: deployed, runServiceBusTriggers: deployed });

  serveUntilStopped({ url: host.url, pid: process.pid, apiKey }, async () => {
    await host.stop().catch(() => undefined);
    await services.close();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway bench server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
