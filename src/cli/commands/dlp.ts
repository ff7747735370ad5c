import { Command } from "commander";
import { readFile } from "node:fs/promises";
import { countByType, type Finding, scan, type ScanOptions, scanOptionsFromPolicy } from "../../core/dlp/index.js";
import { PolicyError, parsePolicy } from "../../core/policy/parsePolicy.js";

export interface DlpCommandIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly readFile?: (path: string) => Promise<string>;
}

interface ScanCommandOptions {
  readonly policy?: string;
  readonly project?: string;
  readonly jsonl?: boolean;
}

class DlpCliError extends Error {}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** Offsets, types and scores only: the CLI never prints a detected value. */
function describeFindings(findings: readonly Finding[]): { findings: Finding[]; counts: ReturnType<typeof countByType> } {
  return { findings: findings.map(({ type, start, end, score }) => ({ type, start, end, score })), counts: countByType(findings) };
}

async function optionsFor(command: ScanCommandOptions, read: (path: string) => Promise<string>): Promise<ScanOptions> {
  if (command.policy === undefined) {
    if (command.project !== undefined) throw new DlpCliError("--project needs --policy FILE to read the project's DLP settings from");
    return {};
  }
  let text: string;
  try {
    text = await read(command.policy);
  } catch (error) {
    throw new DlpCliError(`cannot read policy ${command.policy}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let projects;
  try {
    projects = parsePolicy(text, command.policy).policy.projects;
  } catch (error) {
    if (error instanceof PolicyError) throw new DlpCliError(error.message);
    throw error;
  }
  const ids = projects.map((p) => p.id).join(", ");
  if (command.project === undefined) {
    const [only] = projects;
    if (projects.length !== 1 || only === undefined) throw new DlpCliError(`the policy has ${projects.length} projects (${ids}); choose one with --project`);
    return scanOptionsFromPolicy(only.dlp);
  }
  const project = projects.find((p) => p.id === command.project);
  if (project === undefined) throw new DlpCliError(`project "${command.project}" is not in ${command.policy}; known projects: ${ids}`);
  return scanOptionsFromPolicy(project.dlp);
}

/** `palisade dlp scan`: finds personal data and secrets in stdin and prints where they are, never what they are. */
export function createDlpCommand(io: DlpCommandIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Command {
  const read = io.readFile ?? ((path: string) => readFile(path, "utf8"));
  const dlp = new Command("dlp").description("data loss prevention: find personal data and secrets in text");
  dlp
    .command("scan")
    .description("scan stdin (text, or JSON lines with a `text` field with --jsonl) and print findings as JSON: type, start, end, score")
    .option("--policy <file>", "use the DLP settings (threshold, allowlist, phone regions) of a project in this policy")
    .option("--project <id>", "the project whose DLP settings apply (needed when the policy has several)")
    .option("--jsonl", "read JSON lines, each with a `text` field; print one result per line")
    // The output is JSON already; the flag is accepted so that every command takes --json.
    .option("--json", "print JSON (the default, and the only format)")
    .action(async (command: ScanCommandOptions) => {
      try {
        const options = await optionsFor(command, read);
        const input = await readAll(io.stdin);
        if (!command.jsonl) {
          io.stdout.write(`${JSON.stringify(describeFindings(scan(input, options)))}\n`);
          return;
        }
        const lines = input.split("\n");
        for (let index = 0; index < lines.length; index += 1) {
          const line = lines[index]?.trim() ?? "";
          if (line === "") continue;
          let record: unknown;
          try {
            record = JSON.parse(line);
          } catch {
            throw new DlpCliError(`line ${index + 1} is not valid JSON; with --jsonl every line must be an object with a "text" string`);
          }
          const text = typeof record === "object" && record !== null ? (record as { text?: unknown }).text : undefined;
          if (typeof text !== "string") throw new DlpCliError(`line ${index + 1} has no "text" string; with --jsonl every line must be an object with a "text" string`);
          io.stdout.write(`${JSON.stringify({ line: index + 1, ...describeFindings(scan(text, options)) })}\n`);
        }
      } catch (error) {
        if (!(error instanceof DlpCliError)) throw error;
        io.stderr.write(`palisade dlp scan: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
  return dlp;
}
