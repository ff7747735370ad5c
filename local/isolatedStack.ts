import { type EmulatorKind } from "./emulatorMessages.js";
import { type EmulatorThread, startEmulatorThread } from "./emulatorThread.js";
import { type LoopDiagnostics } from "./loopWatch.js";
import { AUDIT_QUEUE, type LocalStackOptions, seedAuditDigestSecret, stackEnvironment } from "./stack.js";

const KINDS = ["azurite", "servicebus", "keyvault", "contentsafety"] as const satisfies readonly EmulatorKind[];

/** Everything an isolated stack's emulators counted, keyed `kind.operation` (e.g. `servicebus.send`). */
export interface IsolatedStackStats {
  readonly operations: Readonly<Record<string, number>>;
  readonly queueDepths: Readonly<Record<string, number>>;
}

/** The local stack with each emulator in a worker thread of its own (see startIsolatedLocalStack). */
export interface IsolatedLocalStack {
  readonly azurite: { readonly tableEndpoint: string; readonly blobEndpoint: string; readonly connectionString: string };
  readonly serviceBus: { readonly connectionString: string };
  readonly keyVault: { readonly vaultUrl: string; readonly caCertPem: string; readonly caCertPath: string };
  readonly contentSafety: { readonly endpoint: string; readonly key: string };
  /** The settings the app and the CLI read to use this stack (what `npm start` prints). */
  readonly environment: Readonly<Record<string, string>>;
  /** Operation counts and the depths of `queues` (and their `/$DeadLetterQueue`), from the emulators' threads. */
  stats(queues?: readonly string[]): Promise<IsolatedStackStats>;
  /** Each thread's event-loop delay and GC pauses since the last call, by emulator. */
  diagnostics(): Promise<Readonly<Record<EmulatorKind, LoopDiagnostics>>>;
  /** Resolves with the error when an emulator's thread fails while serving (pending until then; never rejects). */
  readonly failure: Promise<Error>;
  stop(): Promise<void>;
}

function field(thread: EmulatorThread, name: string): string {
  const value = thread.info[name];
  if (value === undefined) throw new Error(`the ${thread.kind} emulator's thread did not report ${name}`);
  return value;
}

/**
 * Azurite, the Service Bus, Key Vault and content safety emulators, each in a worker thread
 * (local/emulatorThread.ts): one process, so Ctrl-C and `taskset` treat it as one, but four event
 * loops and four heaps, scheduled by the OS on their own. In one event loop, a Service Bus frame that
 * arrived during an Azurite transaction, an audit append or a stop-the-world GC of Azurite's
 * ever-growing heap waited behind it, and so did the request that sent it. If one fails to start, the
 * others are stopped and this rejects.
 */
export async function startIsolatedLocalStack(options: LocalStackOptions = {}): Promise<IsolatedLocalStack> {
  const auditQueue = options.auditQueue ?? AUDIT_QUEUE;
  const threadOptions = { auditQueue, ...(options.stateDirectory ? { stateDirectory: options.stateDirectory } : {}) };
  const starting = await Promise.allSettled(KINDS.map((kind) => startEmulatorThread(kind, threadOptions)));
  const threads = starting.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
  const stopAll = async (): Promise<void> => void (await Promise.allSettled(threads.map((thread) => thread.stop())));
  const failed = starting.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failed) {
    await stopAll();
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }
  const byKind = new Map(threads.map((thread) => [thread.kind, thread]));
  const thread = (kind: EmulatorKind): EmulatorThread => {
    const found = byKind.get(kind);
    if (!found) throw new Error(`no ${kind} emulator thread`);
    return found;
  };
  try {
    const azurite = { tableEndpoint: field(thread("azurite"), "tableEndpoint"), blobEndpoint: field(thread("azurite"), "blobEndpoint"), connectionString: field(thread("azurite"), "connectionString") };
    const serviceBus = { connectionString: field(thread("servicebus"), "connectionString") };
    const keyVault = { vaultUrl: field(thread("keyvault"), "vaultUrl"), caCertPem: field(thread("keyvault"), "caCertPem"), caCertPath: field(thread("keyvault"), "caCertPath") };
    const contentSafety = { endpoint: field(thread("contentsafety"), "endpoint"), key: field(thread("contentsafety"), "key") };
    await seedAuditDigestSecret(keyVault);
    let stopping: Promise<void> | null = null;
    return {
      azurite,
      serviceBus,
      keyVault,
      contentSafety,
      environment: stackEnvironment({ azurite, serviceBus, keyVault, contentSafety }, auditQueue),
      async stats(queues = []) {
        const all = await Promise.all(threads.map(async (one) => ({ kind: one.kind, stats: await one.stats(one.kind === "servicebus" ? queues.flatMap((queue) => [queue, `${queue}/$DeadLetterQueue`]) : []) })));
        const operations: Record<string, number> = {};
        for (const { kind, stats } of all) for (const [operation, count] of Object.entries(stats.operations)) operations[`${kind}.${operation}`] = count;
        return { operations, queueDepths: all.find((one) => one.kind === "servicebus")?.stats.queueDepths ?? {} };
      },
      async diagnostics() {
        const all = await Promise.all(threads.map(async (one) => [one.kind, await one.diagnostics()] as const));
        return Object.fromEntries(all) as Record<EmulatorKind, LoopDiagnostics>;
      },
      failure: Promise.race(threads.map((one) => one.failure)),
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
