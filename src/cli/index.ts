import { CommanderError } from "commander";
import { CliServices } from "../composition/cliServices.js";
import { createProgram } from "./program.js";

/**
 * A reader that stops early (`palisade audit query | head`) closes the pipe, and the next write fails
 * with EPIPE, emitted as an `error` event that, unheard, ends the process with a stack trace. Stop
 * quietly instead, with success, as Unix tools do when their reader has all it wanted. Any other
 * failure of an output stream is one line on stderr and exit code 1.
 */
function stopQuietlyOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    if (stream !== process.stderr) process.stderr.write(`palisade: cannot write output: ${error.code ?? error.message}\n`);
    process.exit(1);
  });
}
stopQuietlyOnBrokenPipe(process.stdout);
stopQuietlyOnBrokenPipe(process.stderr);

/**
 * Entry point of `palisade` (bin/palisade.js). Failures exit non-zero with a one-line reason. A function,
 * not top-level await: the bundle bin/palisade.js runs is CommonJS (bin/bundle.mjs says why).
 */
async function main(): Promise<void> {
  const services = new CliServices(process.env);
  const program = createProgram({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, services);
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`palisade: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  } finally {
    await services.close().catch(() => undefined);
    // An SDK may leave a timer armed after its client closed (rhea's heartbeat); a finished command exits.
    setTimeout(() => process.exit(), 2_000).unref();
  }
}

void main();
