import { Worker } from "node:worker_threads";
import { type EmulatorKind, type EmulatorReply, type EmulatorRequest, type EmulatorWorkerData } from "./emulatorMessages.js";
import { type LoopDiagnostics } from "./loopWatch.js";

const WORKER_URL = new URL("./emulatorWorker.js", import.meta.url);
/** How long a worker gets to close its servers before it is terminated. */
const STOP_GRACE_IN_MS = 5_000;

export interface EmulatorStats {
  readonly operations: Readonly<Record<string, number>>;
  readonly queueDepths: Readonly<Record<string, number>>;
}

/** One emulator running in a worker thread of its own. */
export interface EmulatorThread {
  readonly kind: EmulatorKind;
  /** What clients need to reach it (endpoints, connection string, certificate), as the worker posted it. */
  readonly info: Readonly<Record<string, string>>;
  stats(queues?: readonly string[]): Promise<EmulatorStats>;
  /** Its event loop's delay and its heap's GC pauses since the last call. */
  diagnostics(): Promise<LoopDiagnostics>;
  /** Resolves with what went wrong if the thread ends while it should be serving (never rejects; pending until then). */
  readonly failure: Promise<Error>;
  /** Closes its servers, then ends the thread (terminated if it does not end within a few seconds). Safe to call twice. */
  stop(): Promise<void>;
}

type Answer = Extract<EmulatorReply, { id: number }>;

/**
 * Starts `kind` in a worker thread (local/emulatorWorker.ts) and resolves once it serves; rejects
 * if it fails to start or the thread dies first. `workerUrl` is for tests (a worker that fails).
 */
export function startEmulatorThread(kind: EmulatorKind, options: EmulatorWorkerData["options"] = {}, workerUrl: URL = WORKER_URL): Promise<EmulatorThread> {
  const worker = new Worker(workerUrl, { workerData: { kind, options } satisfies EmulatorWorkerData });
  const pending = new Map<number, { resolve(reply: Answer): void; reject(error: Error): void }>();
  let nextId = 0;
  let stopping: Promise<void> | null = null;
  let exited = false;
  let reportFailure: (error: Error) => void = () => undefined;
  const failure = new Promise<Error>((resolve) => (reportFailure = resolve));
  const ask = <T extends Answer["type"]>(request: Extract<EmulatorRequest, { id: number }> & { type: T }): Promise<Extract<Answer, { type: T }>> =>
    new Promise((resolve, reject) => {
      if (stopping !== null || exited) return reject(new Error(`the ${kind} emulator is ${exited ? "gone" : "stopped"}`));
      pending.set(request.id, { resolve: resolve as (reply: Answer) => void, reject });
      worker.postMessage(request);
    });
  const failPending = (error: Error): void => {
    for (const [id, waiting] of pending) {
      pending.delete(id);
      waiting.reject(error);
    }
  };

  return new Promise<EmulatorThread>((resolve, reject) => {
    let started = false;
    let stopped: () => void = () => undefined;
    const ended = new Promise<void>((resolveEnded) => (stopped = resolveEnded));
    const thread: EmulatorThread = {
      kind,
      info: {},
      stats: async (queues = []) => {
        const reply = await ask({ type: "stats", id: nextId++, queues });
        return { operations: reply.operations, queueDepths: reply.queueDepths };
      },
      diagnostics: async () => (await ask({ type: "diagnostics", id: nextId++ })).diagnostics,
      failure,
      stop() {
        stopping ??= (async () => {
          worker.postMessage({ type: "stop" } satisfies EmulatorRequest);
          const grace = new Promise<void>((resolveGrace) => setTimeout(resolveGrace, STOP_GRACE_IN_MS).unref());
          await Promise.race([ended, grace]);
          await worker.terminate();
        })();
        return stopping;
      },
    };
    const died = (error: Error): void => {
      failPending(error);
      if (!started) reject(error);
      else if (stopping === null) reportFailure(error);
    };
    worker.on("message", (reply: EmulatorReply) => {
      switch (reply.type) {
        case "ready":
          started = true;
          resolve({ ...thread, info: reply.info });
          return;
        case "failed": {
          const error = new Error(`the ${kind} emulator failed to start: ${reply.message}`);
          void worker.terminate();
          died(error);
          return;
        }
        case "stopped":
          stopped();
          return;
        default: {
          const answer = pending.get(reply.id);
          pending.delete(reply.id);
          answer?.resolve(reply);
        }
      }
    });
    worker.on("error", (error) => died(new Error(`the ${kind} emulator failed: ${error.message}`, { cause: error })));
    worker.on("exit", (code) => {
      exited = true;
      stopped();
      died(new Error(`the ${kind} emulator's thread ended (exit code ${code})`));
    });
  });
}
