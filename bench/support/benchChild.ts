/** What a bench child prints, as ONE JSON line on stdout, once it serves. */
export interface BenchChildReady {
  readonly url: string;
  readonly pid: number;
  readonly apiKey: string;
  /** Event-loop delay and GC since the last read (bench/support/loopDiagnostics.ts), where the child serves them. */
  readonly diagnosticsUrl?: string;
}

/**
 * The life of a bench child process: says it is ready (one JSON line on stdout, which the parent
 * waits for), then runs `shutdown` once and exits on SIGTERM, SIGINT or when stdin closes (the
 * parent died; `untilStdinCloses: false` for a server another harness starts with no stdin).
 */
export function serveUntilStopped(ready: BenchChildReady, shutdown: () => Promise<void>, untilStdinCloses = true): void {
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await shutdown().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  if (untilStdinCloses) {
    process.stdin.on("end", () => void stop());
    process.stdin.resume();
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}
