import "./quietTestModeWarnings.js";
import { parentPort, workerData } from "node:worker_threads";
import { type EmulatorKind, type EmulatorReply, type EmulatorRequest, type EmulatorWorkerData } from "./emulatorMessages.js";
import { watchLoop } from "./loopWatch.js";

/**
 * One emulator in a worker thread of its own (local/emulatorThread.ts starts it): its own event loop,
 * heap and garbage collector, so Azurite's transactions and GC pauses never hold up a Service Bus
 * frame, nor the app's requests in `npm start`'s main thread. Says `ready` with what clients need,
 * answers `stats` (operation counts, queue depths) and `diagnostics` (loop delay, GC), and stops on
 * `stop`. A failure to start is posted as `failed`; anything thrown later ends the thread, which the
 * parent sees as an `error` event.
 */

interface Running {
  readonly info: Readonly<Record<string, string>>;
  operations(): Readonly<Record<string, number>>;
  queueDepth(name: string): number;
  stop(): Promise<void>;
}

const none = (): Readonly<Record<string, number>> => ({});

async function start(kind: EmulatorKind, options: EmulatorWorkerData["options"]): Promise<Running> {
  switch (kind) {
    case "azurite": {
      const { startAzurite } = await import("./azurite.js");
      const azurite = await startAzurite();
      const info = { tableEndpoint: azurite.tableEndpoint, blobEndpoint: azurite.blobEndpoint, connectionString: azurite.connectionString };
      return { info, operations: none, queueDepth: () => 0, stop: () => azurite.stop() };
    }
    case "servicebus": {
      const { startServiceBusEmulator } = await import("./servicebus/index.js");
      const { auditQueueDefinition } = await import("./auditQueue.js");
      const serviceBus = await startServiceBusEmulator({ queues: [auditQueueDefinition(options.auditQueue)] });
      return { info: { connectionString: serviceBus.connectionString }, operations: () => serviceBus.operations(), queueDepth: (name) => serviceBus.queueDepth(name), stop: () => serviceBus.stop() };
    }
    case "keyvault": {
      const { startKeyVaultEmulator } = await import("./keyvault/index.js");
      const keyVault = await startKeyVaultEmulator(options.stateDirectory ? { certDir: options.stateDirectory } : {});
      const info = { vaultUrl: keyVault.vaultUrl, caCertPem: keyVault.caCertPem, caCertPath: keyVault.caCertPath };
      return { info, operations: () => keyVault.operations(), queueDepth: () => 0, stop: () => keyVault.stop() };
    }
    case "contentsafety": {
      const { startContentSafetyEmulator } = await import("./contentsafety/index.js");
      const contentSafety = await startContentSafetyEmulator();
      return { info: { endpoint: contentSafety.endpoint, key: contentSafety.key }, operations: () => contentSafety.calls(), queueDepth: () => 0, stop: () => contentSafety.stop() };
    }
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("local/emulatorWorker.js runs as a worker thread (local/emulatorThread.ts starts it)");
  const { kind, options } = workerData as EmulatorWorkerData;
  const post = (reply: EmulatorReply): void => port.postMessage(reply);
  // Watched from the first diagnostics request on (the bench's), not from the start: its 10 ms timer
  // woke every emulator thread 100 times a second in every `npm start`, where nobody reads it.
  let loop: ReturnType<typeof watchLoop> | undefined;
  let running: Running;
  try {
    running = await start(kind, options);
  } catch (error) {
    post({ type: "failed", message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
    port.close();
    return;
  }
  port.on("message", (request: EmulatorRequest) => {
    switch (request.type) {
      case "stats":
        post({ type: "stats", id: request.id, operations: running.operations(), queueDepths: Object.fromEntries(request.queues.map((name) => [name, running.queueDepth(name)])) });
        return;
      case "diagnostics":
        loop ??= watchLoop();
        post({ type: "diagnostics", id: request.id, diagnostics: loop.read() });
        return;
      case "stop":
        loop?.close();
        void running.stop().finally(() => {
          post({ type: "stopped" });
          port.close();
        });
        return;
    }
  });
  post({ type: "ready", info: running.info });
}

void main();
