import { type AppendOutcome, type AuditMessage } from "../../core/audit/AuditAppender.js";
import { type CheckpointSignature } from "../../core/audit/CheckpointSigner.js";
import { type LogFields } from "../../core/logger.js";

/** Where the worker's ledger and checkpoint anchor live: plain data, as a worker receives it. */
export type AppendWorkerStorage =
  | { readonly connectionString: string }
  | { readonly tableEndpoint: string; readonly blobEndpoint: string; readonly managedIdentityClientId?: string; readonly local: boolean };

/** Table Storage's bounds (composition/tableResilience.ts), as numbers: the worker builds its own breaker from them. */
export interface AppendWorkerStorageBounds {
  readonly maxRetries: number;
  readonly retryDelayInMs: number;
  readonly tryTimeoutInMs: number;
  readonly openForInMs: number;
}

/** What the append worker is started with (`workerData`). */
export interface AppendWorkerData {
  readonly storage: AppendWorkerStorage;
  readonly bounds?: AppendWorkerStorageBounds;
  readonly checkpointContainer: string;
  readonly checkpointEvery: number;
  readonly checkpointEveryInMs: number;
  readonly createIfMissing: boolean;
}

export interface WorkerError {
  readonly name: string;
  readonly message: string;
}

/** From the instance's main thread to the worker. */
export type ToAppendWorker =
  /** A delivery is handed over in parts, one per turn of the event loop (cloning 4 MB at once held the thread ~50-100 ms); `last` starts the append. */
  | { readonly type: "append"; readonly id: number; readonly messages: readonly AuditMessage[]; readonly last: boolean }
  | { readonly type: "signed"; readonly id: number; readonly signature?: CheckpointSignature; readonly error?: WorkerError }
  | { readonly type: "verified"; readonly id: number; readonly valid?: boolean; readonly error?: WorkerError };

/** From the worker to the main thread: outcomes, and the checkpoint key's signatures it asks for. */
export type FromAppendWorker =
  | { readonly type: "appended"; readonly id: number; readonly outcomes: readonly AppendOutcome[] }
  | { readonly type: "failed"; readonly id: number; readonly error: WorkerError }
  | { readonly type: "sign"; readonly id: number; readonly digest: Uint8Array }
  | { readonly type: "verify"; readonly id: number; readonly keyId: string; readonly message: Uint8Array; readonly signature: Uint8Array }
  | { readonly type: "log"; readonly level: "debug" | "info" | "warn" | "error"; readonly message: string; readonly fields?: LogFields };

export const workerError = (error: unknown): WorkerError =>
  error instanceof Error ? { name: error.name, message: error.message } : { name: "Error", message: "unknown error" };

/** An error rebuilt on the other side of the thread boundary, with its name (AuditAppendConflictError, RestError...). */
export function errorFrom(error: WorkerError): Error {
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}
