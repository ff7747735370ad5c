import { type LoopDiagnostics } from "./loopWatch.js";

/** The emulators `npm start` runs, each in a worker thread of its own (local/emulatorWorker.ts). */
export type EmulatorKind = "azurite" | "servicebus" | "keyvault" | "contentsafety";

export interface EmulatorWorkerData {
  readonly kind: EmulatorKind;
  readonly options: {
    /** Where the Key Vault emulator writes its certificate. */
    readonly stateDirectory?: string;
    readonly auditQueue?: string;
  };
}

/** Parent to worker. */
export type EmulatorRequest =
  | { readonly type: "stats"; readonly id: number; readonly queues: readonly string[] }
  | { readonly type: "diagnostics"; readonly id: number }
  | { readonly type: "stop" };

/** Worker to parent. */
export type EmulatorReply =
  | { readonly type: "ready"; readonly info: Readonly<Record<string, string>> }
  | { readonly type: "failed"; readonly message: string; readonly stack?: string }
  | { readonly type: "stats"; readonly id: number; readonly operations: Readonly<Record<string, number>>; readonly queueDepths: Readonly<Record<string, number>> }
  | { readonly type: "diagnostics"; readonly id: number; readonly diagnostics: LoopDiagnostics }
  | { readonly type: "stopped" };
