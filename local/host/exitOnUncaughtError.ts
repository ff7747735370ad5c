let installed = false;

/**
 * Does with an exception nothing caught what the Azure Functions Node.js worker does: log it and exit
 * with code 1 (the Functions host then starts a new worker, failing the invocations in flight). The
 * local host does the same rather than log and carry on, so a bug that would kill an instance in
 * Azure kills it here too, where a test sees it, instead of hiding behind a handler that keeps serving.
 * What it adds is the log line: one JSON error line with the error's name, message and stack (stacks
 * and the errors thrown here carry no request content). An unhandled rejection arrives here too
 * (Node's default `--unhandled-rejections=throw`), with `origin: "unhandledRejection"`.
 */
export function exitOnUncaughtError(write: (line: string) => void = (line) => void process.stderr.write(`${line}\n`)): void {
  if (installed) return;
  installed = true;
  process.on("uncaughtException", (error: unknown, origin: string) => {
    const described = error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: typeof error, message: "a non-Error value was thrown" };
    try {
      write(JSON.stringify({ ts: new Date().toISOString(), level: "error", message: "uncaught exception: the host exits, as the Azure Functions Node.js worker does", origin, error: described }));
    } finally {
      process.exit(1);
    }
  });
}
