import { Command, CommanderError, InvalidArgumentError } from "commander";
import { DirectoryComplianceReportStore } from "../../adapters/compliance/DirectoryComplianceReportStore.js";
import { type ComplianceNightly } from "../../core/compliance/ComplianceNightly.js";
import { parseUtcDay } from "../../core/compliance/utcDay.js";

export interface ComplianceCommandDeps {
  readonly getNightly: () => Promise<Pick<ComplianceNightly, "run">>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Exit code when a chain is not intact (as `palisade audit verify`), distinct from 1 (could not run). */
export const EXIT_NOT_INTACT = 2;

const utcDate = (value: string): string => {
  if (parseUtcDay(value) === null) throw new InvalidArgumentError("use a UTC date as YYYY-MM-DD, such as 2026-01-31");
  return value;
};

/** `palisade compliance run`: the nightly job on demand, for one day and one or every chain. */
export function createComplianceCommand(deps: ComplianceCommandDeps): Command {
  const out = (text: string): void => {
    deps.stdout.write(text);
  };
  const compliance = new Command("compliance")
    .description("Compliance evidence: verified chains, signed checkpoints, daily summaries and reports")
    .configureOutput({ writeOut: out, writeErr: (text) => deps.stderr.write(text) })
    .exitOverride();

  compliance
    .command("run")
    .description("Verify and checkpoint each chain, then write the day's summary.json and report.html (Blob storage, and --out)")
    .option("--date <YYYY-MM-DD>", "the UTC day to report on (default: yesterday, UTC)", utcDate)
    .option("--chain <id>", "one chain (default: every chain)")
    .option("--out <dir>", "also write <dir>/<chain>/<date>/summary.json and report.html")
    .option("--json", "print JSON")
    .action(async (options: { date?: string; chain?: string; out?: string; json?: boolean }) => {
      let notIntact = 0;
      try {
        const nightly = await deps.getNightly();
        const result = await nightly.run({
          ...(options.date === undefined ? {} : { date: options.date }),
          ...(options.chain === undefined ? {} : { chainId: options.chain }),
          ...(options.out === undefined ? {} : { alsoWriteTo: [new DirectoryComplianceReportStore(options.out)] }),
        });
        const rows = result.chains.map(({ summary: _summary, ...row }) => row);
        if (options.json === true) out(`${JSON.stringify({ date: result.date, chains: rows })}\n`);
        else {
          if (rows.length === 0) out(`no chains to report on for ${result.date}\n`);
          for (const row of rows) {
            if (!row.ok) out(`${row.chainId} ${result.date}: FAILED: ${row.error ?? "unknown error"}\n`);
            else {
              out(`${row.chainId} ${result.date}: ${row.intact ? "intact" : "NOT INTACT"}, checkpoint ${row.checkpointSize ?? "none"}, ${row.requests} requests, ${row.anomalies} anomalies\n`);
              for (const location of row.locations) out(`  ${location}\n`);
            }
          }
        }
        notIntact = rows.filter((row) => !row.ok || !row.intact).length;
      } catch (error) {
        if (error instanceof CommanderError) throw error;
        compliance.error(`error: ${error instanceof Error ? error.message : String(error)}`, { exitCode: 1, code: "palisade.compliance.failed" });
      }
      if (notIntact > 0) compliance.error(`error: ${notIntact} chain(s) not intact or not summarised`, { exitCode: EXIT_NOT_INTACT, code: "palisade.compliance.not_intact" });
    });

  return compliance;
}
