import { Worker } from "node:worker_threads";
import { type AppendOutcome, type AuditMessage } from "../../core/audit/AuditAppender.js";
import { type CheckpointSigner } from "../../core/audit/CheckpointSigner.js";
import { type SignatureVerifier } from "../../core/audit/SignatureVerifier.js";
import { type Logger } from "../../core/logger.js";
import { type AppendWorkerData, errorFrom, type FromAppendWorker, type ToAppendWorker, workerError } from "./appendWorkerProtocol.js";

export interface WorkerAuditAppenderOptions {
  /** The worker's script (composition/auditAppendWorker.ts, built). */
  readonly workerUrl: URL;
  readonly workerData: AppendWorkerData;
  /** The checkpoint key, which stays on this thread: the worker asks for each signature and check. */
  readonly signer: CheckpointSigner;
  readonly signatureVerifier: SignatureVerifier;
  readonly logger: Logger;
  /** A delivery not appended within this long: the worker is ended (and started again), the call fails. */
  readonly timeoutInMs: number;
}

/** Thrown when the worker died, hung or was ended: transient, the delivery is given back and redelivered. */
export class AuditAppendWorkerError extends Error {
  override readonly name = "AuditAppendWorkerError";
}

/** What one part of a hand-over may hold (a packed message is at most 64 KB). */
const HAND_OVER_BYTES = 64 * 1024;
/** An event's typical size as JSON, for bodies that arrive parsed. */
const EVENT_BYTES = 700;

/** A body's size, near enough to cut the hand-over in parts: bytes and text as they are, a parsed body by its events. */
function approximateBytes(body: unknown): number {
  if (body instanceof Uint8Array) return body.byteLength;
  if (typeof body === "string") return body.length;
  const events: unknown = typeof body === "object" && body !== null ? (body as { events?: unknown }).events : undefined;
  return Array.isArray(events) ? events.length * EVENT_BYTES : EVENT_BYTES;
}

interface Call {
  resolve(outcomes: AppendOutcome[]): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

interface Running {
  readonly worker: Worker;
  readonly calls: Map<number, Call>;
  /** Why it is ending, once it is: what the calls still waiting fail with. */
  ending: AuditAppendWorkerError | null;
}

/**
 * The audit append in a worker thread of the instance (the AuditAppender's `append`, same outcomes):
 * the CPU-heavy part of a delivery (decoding, canonical JSON, hashing, the transaction and the Tables
 * SDK) and its garbage stay off the thread that serves HTTP. The trigger still settles on this thread,
 * after the outcomes come back (after the commit). A worker that crashes, exits or does not answer
 * within `timeoutInMs` fails the calls it holds (the deliveries are abandoned and come back; the append
 * is idempotent on event id) and a new one is started for the next call. Never takes the process down.
 */
export class WorkerAuditAppender {
  private running: Running | null = null;
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: WorkerAuditAppenderOptions) {}

  append(messages: readonly AuditMessage[]): Promise<AppendOutcome[]> {
    if (this.closed) return Promise.reject(new AuditAppendWorkerError("the audit append worker is closed"));
    const running = this.running ?? this.start();
    this.nextId += 1;
    const id = this.nextId;
    const answer = new Promise<AppendOutcome[]>((resolve, reject) => {
      const timer = setTimeout(() => void this.end(running, new AuditAppendWorkerError(`the audit append worker did not answer within ${this.options.timeoutInMs} ms`)), this.options.timeoutInMs);
      running.calls.set(id, { resolve, reject, timer });
    });
    // The hand-over's failure (a body that cannot be cloned; never from the trigger) ends the call, not the worker.
    this.handOver(running, id, messages).catch((error: unknown) => this.failCall(running, id, error instanceof Error ? error : new Error("the delivery could not be handed to the audit append worker")));
    return answer;
  }

  /**
   * Posts the delivery in parts of about HAND_OVER_BYTES, a turn of the event loop between them:
   * postMessage clones on this thread, and a backlog's delivery of 100 packed messages (~4 MB) cloned
   * at once held it ~50-100 ms.
   */
  private async handOver(running: Running, id: number, messages: readonly AuditMessage[]): Promise<void> {
    let from = 0;
    let bytes = 0;
    for (let index = 0; index < messages.length; index += 1) {
      bytes += approximateBytes((messages[index] as AuditMessage).body);
      const last = index === messages.length - 1;
      if (bytes < HAND_OVER_BYTES && !last) continue;
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      if (running.ending !== null || !running.calls.has(id)) return;
      running.worker.postMessage({ type: "append", id, messages: messages.slice(from, index + 1), last } satisfies ToAppendWorker);
      from = index + 1;
      bytes = 0;
    }
    if (messages.length === 0) running.worker.postMessage({ type: "append", id, messages: [], last: true } satisfies ToAppendWorker);
  }

  private failCall(running: Running, id: number, error: Error): void {
    const call = running.calls.get(id);
    if (call === undefined) return;
    running.calls.delete(id);
    clearTimeout(call.timer);
    call.reject(error);
  }

  /** Ends the worker (calls still waiting fail and are redelivered). Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.running;
    if (running !== null) await this.end(running, new AuditAppendWorkerError("the audit append worker was closed"));
  }

  /** The worker's thread id while one runs. */
  get threadId(): number | null {
    return this.running?.worker.threadId ?? null;
  }

  /** Ends the worker now, as a crash would: the calls it holds fail (redelivered); the next call starts another. */
  async restartWorker(): Promise<void> {
    const running = this.running;
    if (running !== null) await this.end(running, new AuditAppendWorkerError("the audit append worker was restarted"));
  }

  private start(): Running {
    const { workerUrl, workerData, logger } = this.options;
    const worker = new Worker(workerUrl, { workerData });
    // The trigger's calls keep the process alive (their timers), not an idle worker.
    worker.unref();
    const running: Running = { worker, calls: new Map(), ending: null };
    this.running = running;
    worker.on("message", (message: FromAppendWorker) => this.receive(running, message));
    worker.on("error", (error: Error) => {
      // An error the worker did not catch ends it: fail what it holds, start another on the next call.
      logger.error("audit.append.worker_failed", { error: error.name, threadId: worker.threadId });
      void this.end(running, new AuditAppendWorkerError(`the audit append worker failed: ${error.name}`));
    });
    worker.on("exit", (code) => {
      if (this.running === running) this.running = null;
      this.failCalls(running, running.ending ?? new AuditAppendWorkerError(`the audit append worker exited (code ${code})`));
    });
    return running;
  }

  private receive(running: Running, message: FromAppendWorker): void {
    const { logger, signer, signatureVerifier } = this.options;
    switch (message.type) {
      case "appended":
      case "failed": {
        const call = running.calls.get(message.id);
        if (call === undefined) return;
        if (message.type === "failed") return this.failCall(running, message.id, errorFrom(message.error));
        running.calls.delete(message.id);
        clearTimeout(call.timer);
        call.resolve([...message.outcomes]);
        return;
      }
      case "sign":
        signer.sign(message.digest).then(
          (signature) => this.answer(running, { type: "signed", id: message.id, signature }),
          (error: unknown) => this.answer(running, { type: "signed", id: message.id, error: workerError(error) }),
        );
        return;
      case "verify":
        signatureVerifier.verify({ keyId: message.keyId, message: message.message, signature: message.signature }).then(
          (valid) => this.answer(running, { type: "verified", id: message.id, valid }),
          (error: unknown) => this.answer(running, { type: "verified", id: message.id, error: workerError(error) }),
        );
        return;
      case "log":
        logger[message.level](message.message, message.fields);
        return;
    }
  }

  private answer(running: Running, message: ToAppendWorker): void {
    // A worker ended meanwhile has nobody to read it.
    if (running.ending === null) running.worker.postMessage(message);
  }

  private async end(running: Running, reason: AuditAppendWorkerError): Promise<void> {
    if (this.running === running) this.running = null;
    if (running.ending === null) {
      running.ending = reason;
      if (!this.closed) this.options.logger.warn("audit.append.worker_ended", { reason: reason.message, calls: running.calls.size });
    }
    this.failCalls(running, reason);
    await running.worker.terminate().catch(() => undefined);
  }

  private failCalls(running: Running, reason: AuditAppendWorkerError): void {
    for (const [id, call] of running.calls) {
      running.calls.delete(id);
      clearTimeout(call.timer);
      call.reject(reason);
    }
  }
}
