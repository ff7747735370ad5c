import { Command, CommanderError } from "commander";
import { writeFile } from "node:fs/promises";
import { type DataSubjectRequests } from "../../core/privacy/DataSubjectRequests.js";

export interface DsrCommandDeps {
  readonly getRequests: () => Promise<Pick<DataSubjectRequests, "export" | "erase">>;
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) {
    text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (text.includes("\n")) break;
  }
  return text.split("\n")[0] ?? "";
}

/**
 * `palisade dsr export|erase --subject ID`: GDPR data-subject requests over the audit trail. The
 * subject id is never printed back; `--subject -` reads it from stdin (keeps it out of shell history).
 */
export function createDsrCommand(deps: DsrCommandDeps): Command {
  const out = (text: string): void => {
    deps.stdout.write(text);
  };
  const dsr = new Command("dsr")
    .description("GDPR data-subject requests: export a subject's audit events, or erase them by destroying the subject's key")
    .configureOutput({ writeOut: out, writeErr: (text) => deps.stderr.write(text) })
    .exitOverride();

  const subjectFrom = async (value: string): Promise<string> => {
    if (value !== "-") return value;
    if (deps.stdin === undefined) throw new Error("--subject - needs the subject id on stdin");
    return firstLine(deps.stdin);
  };
  const run =
    <A extends unknown[]>(action: (requests: Pick<DataSubjectRequests, "export" | "erase">, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await action(await deps.getRequests(), ...args);
      } catch (error) {
        if (error instanceof CommanderError) throw error;
        dsr.error(`error: ${error instanceof Error ? error.message : String(error)}`, { exitCode: 1, code: "palisade.dsr.failed" });
      }
    };

  dsr
    .command("export")
    .description("Every audit event about the subject, decrypted, as JSON (recorded as dsr_exported)")
    .requiredOption("--subject <id>", "the end-user id the app passed (`user` or x-palisade-subject); - reads it from stdin")
    .option("--out <file>", "write the JSON to this file instead of stdout")
    .option("--json", "with --out, print a JSON summary ({ file, events }) on stdout; the export itself is always JSON")
    .action(
      run(async (requests, options: { subject: string; out?: string; json?: boolean }) => {
        const result = await requests.export(await subjectFrom(options.subject));
        const text = `${JSON.stringify(result, null, 2)}\n`;
        if (options.out === undefined) out(text);
        else {
          await writeFile(options.out, text, { encoding: "utf8", mode: 0o600 });
          if (options.json === true) out(`${JSON.stringify({ file: options.out, events: result.events.length })}\n`);
          else deps.stderr.write(`${result.events.length} event(s) written to ${options.out}\n`);
        }
      }),
    );

  dsr
    .command("erase")
    .description("Destroy the subject's key (crypto-shredding): the chain still verifies, the subject can no longer be read (recorded as dsr_erased)")
    .requiredOption("--subject <id>", "the end-user id; - reads it from stdin")
    .option("--json", "print JSON")
    .action(
      run(async (requests, options: { subject: string; json?: boolean }) => {
        const result = await requests.erase(await subjectFrom(options.subject));
        if (options.json === true) out(`${JSON.stringify(result)}\n`);
        else
          out(
            result.keyDestroyed
              ? `subject ${result.subjectRef.slice(0, 16)}…: key destroyed; ${result.eventsAffected} event(s) can no longer be read or linked to the subject\n`
              : `subject ${result.subjectRef.slice(0, 16)}…: no key (never recorded, or already erased); nothing to destroy\n`,
          );
      }),
    );

  return dsr;
}
