import { Command, CommanderError, Option } from "commander";
import { isUsageDate, type UsageLine, type UsageReader, type UsageReport } from "../../core/limits/UsageReader.js";

/**
 * `palisade usage --project P --period day|month [--date D] [--json]`: spend and tokens for one
 * project, by operation, key, model and tag, read from the rollups the gateway writes when it settles.
 * Failures are written to stderr and thrown as a CommanderError (exitCode 1); the program that
 * mounts this command decides how to exit. Actions never call process.exit.
 */

export interface UsageCommandOutput {
  write(text: string): unknown;
}

export interface UsageCommandDeps {
  readonly getUsageReader: () => Promise<UsageReader>;
  readonly stdout: UsageCommandOutput;
  readonly stderr: UsageCommandOutput;
  /** Milliseconds since the epoch, for the default date (today or this month, UTC). */
  readonly nowInMs?: () => number;
}

interface UsageOptions {
  readonly project: string;
  readonly period: "day" | "month";
  readonly date?: string;
  readonly json?: boolean;
}

const usd = (value: number): string => `$${value.toFixed(6)}`;

function table(title: string, lines: readonly UsageLine[]): string {
  if (lines.length === 0) return `${title}: none\n`;
  const header = ["NAME", "REQUESTS", "INPUT", "CACHED", "OUTPUT", "COST (USD)"];
  const rows = lines.map((line) => [line.name, String(line.requests), String(line.inputTokens), String(line.cachedInputTokens), String(line.outputTokens), usd(line.costUsd)]);
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const render = (row: readonly string[]): string =>
    `  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join("  ")}\n`;
  return `${title}:\n${render(header)}${rows.map(render).join("")}`;
}

function holdLines(report: UsageReport): string {
  if (report.holds.length === 0) return "";
  const lines = report.holds.map((hold) =>
    hold.expired
      ? `  ${hold.owner}: ${usd(hold.heldUsd)}, expired at ${hold.expiresAt} (its instance stopped renewing; given back at the next sweep)\n`
      : `  ${hold.owner}: ${usd(hold.heldUsd)}, held until ${hold.expiresAt} unless its instance renews it\n`,
  );
  return `Held by instance:\n${lines.join("")}`;
}

export function formatUsageReport(report: UsageReport): string {
  const total = report.total;
  return [
    `Usage of project ${report.project}, ${report.period} ${report.date} (UTC)\n`,
    `Total: ${total.requests} requests, ${total.inputTokens} input tokens (${total.cachedInputTokens} cached), ${total.outputTokens} output tokens, ${usd(total.costUsd)}\n`,
    `Held by unsettled reservations: ${usd(report.reservedUsd)}` + (total.unpricedRequests > 0 ? `; ${total.unpricedRequests} requests had no price (counted at $0)\n` : "\n"),
    holdLines(report),
    table("By operation", report.byOperation),
    table("By key", report.byKey),
    table("By model", report.byModel),
    table("By tag", report.byTag),
  ].join("");
}

export function createUsageCommand(deps: UsageCommandDeps): Command {
  const command = new Command("usage")
    .description("Spend, tokens and requests of a project for a UTC day or month, by operation (chat, embeddings, responses), key, model and tag")
    .requiredOption("--project <id>", "project id")
    .addOption(new Option("--period <period>", "day or month").choices(["day", "month"]).default("day"))
    .option("--date <date>", "YYYY-MM-DD for a day, YYYY-MM for a month (default: the current one, UTC)")
    .option("--json", "print the report as JSON")
    .configureOutput({ writeOut: (text) => void deps.stdout.write(text), writeErr: (text) => void deps.stderr.write(text) });

  command.action(async (options: UsageOptions) => {
    const fail = (message: string): never => {
      deps.stderr.write(`palisade usage: ${message}\n`);
      throw new CommanderError(1, "palisade.usage", message);
    };
    const nowInMs = (deps.nowInMs ?? Date.now)();
    const today = new Date(nowInMs).toISOString();
    const date = options.date ?? (options.period === "day" ? today.slice(0, 10) : today.slice(0, 7));
    if (!isUsageDate(options.period, date)) fail(`--date "${date}" must be ${options.period === "day" ? "YYYY-MM-DD" : "YYYY-MM"} for --period ${options.period}`);

    let report: UsageReport;
    try {
      const reader = await deps.getUsageReader();
      report = await reader.getUsage({ project: options.project, period: options.period, date, asOfInMs: nowInMs });
    } catch (error) {
      return fail(`could not read usage (${error instanceof Error ? error.message : "unknown error"}); check the storage settings and that the counter store is reachable`);
    }
    deps.stdout.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatUsageReport(report));
  });
  return command;
}
