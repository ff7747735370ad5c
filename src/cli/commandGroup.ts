import { Command, CommanderError } from "commander";
import { isPalisadeError } from "../core/errors.js";

export interface CommandGroup {
  readonly command: Command;
  /** Wraps an action: an expected failure becomes one stderr line and a CommanderError (exit code 1). */
  readonly run: <A extends unknown[]>(action: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;
  /** Stops with one stderr line and exit code 1. */
  readonly fail: (message: string) => never;
}

/** A `palisade <name>` command whose output goes to the given streams and which never exits the process itself. */
export function createCommandGroup(name: string, description: string, io: { readonly stdout: NodeJS.WritableStream; readonly stderr: NodeJS.WritableStream }): CommandGroup {
  const write = (stream: NodeJS.WritableStream) => (text: string) => {
    stream.write(text);
  };
  const command = new Command(name)
    .description(description)
    .configureOutput({ writeOut: write(io.stdout), writeErr: write(io.stderr) })
    .exitOverride();
  const fail = (message: string): never => command.error(`error: ${message}`, { exitCode: 1, code: `palisade.${name}.invalid` });
  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await action(...args);
      } catch (error) {
        if (error instanceof CommanderError) throw error;
        const message = isPalisadeError(error) || error instanceof Error ? error.message : String(error);
        command.error(`error: ${message}`, { exitCode: 1, code: `palisade.${name}.failed` });
      }
    };
  return { command, run, fail };
}
