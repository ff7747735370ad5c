import { CommanderError } from "commander";
import { CliServices } from "../composition/cliServices.js";
import { createProgram } from "./program.js";

/** Entry point of `palisade` (bin/palisade.js). Failures exit non-zero with a one-line reason. */
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
