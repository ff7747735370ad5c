import { Command, InvalidArgumentError } from "commander";

export interface HostCommandDeps {
  readonly stderr: NodeJS.WritableStream;
  /** Starts a host serving the app's functions; resolves once it listens, with its URL and a stop. */
  readonly startHost: (options: { port: number; runTimers: boolean; runServiceBusTriggers: boolean }) => Promise<{ url: string; stop(drainInMs: number): Promise<void> }>;
}

/** Under the 10 s most process managers allow between SIGTERM and SIGKILL. */
const DEFAULT_DRAIN_IN_MS = 8_000;

function parseDrain(value: string): number {
  const drain = Number(value);
  if (!Number.isInteger(drain) || drain < 0 || drain > 600_000) throw new InvalidArgumentError("the drain is a whole number of milliseconds from 0 to 600000");
  return drain;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError("a port is a whole number from 0 to 65535");
  return port;
}

/**
 * `palisade host --port N`: another instance of the app joining a running local stack (it reads the
 * variables `npm start` prints), the way Azure scales the app out.
 */
export function createHostCommand(deps: HostCommandDeps): Command {
  return new Command("host")
    .description("serve the app's functions locally, joining the stack described by the environment (see `npm start`)")
    .option("--port <port>", "HTTP port (0 picks a free one)", parsePort, 7072)
    .option("--no-timers", "do not run timer functions on their schedules")
    .option("--no-service-bus", "do not consume the audit queue")
    .option("--json", "print only the JSON ready line ({ url, pid }) and no text on stderr")
    .option("--drain <ms>", "on SIGTERM or Ctrl-C, how long requests in flight (streams included) may take to finish", parseDrain, DEFAULT_DRAIN_IN_MS)
    .action(async (options: { port: number; timers: boolean; serviceBus: boolean; json?: boolean; drain: number }) => {
      const host = await deps.startHost({ port: options.port, runTimers: options.timers, runServiceBusTriggers: options.serviceBus });
      if (options.json !== true) deps.stderr.write(`palisade host listening on ${host.url}\n`);
      // Printed on stdout alone, so a parent process can read where this instance listens.
      process.stdout.write(`${JSON.stringify(options.json === true ? { url: host.url, pid: process.pid } : { url: host.url })}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => void host.stop(options.drain).then(resolve);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
