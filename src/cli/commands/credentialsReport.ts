import { type InventoryEntry, collectInventory } from "../../core/expiry/credentialInventory.js";
import { DAY_IN_MS } from "../../core/rotation/managedCredential.js";
import { type CommandGroup } from "../commandGroup.js";
import { type Clock } from "../../core/clock.js";
import { type CredentialsCommandDeps } from "./credentials.js";
import { formatSpan } from "./keys.js";
import { isoMinute } from "./credentialsTime.js";

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>((acc, row) => row.map((cell, index) => Math.max(acc[index] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join("  ")).join("\n") + "\n";
}

function toJson(entry: InventoryEntry, nowInMs: number): Record<string, unknown> {
  return {
    kind: entry.kind,
    id: entry.id,
    prefix: entry.prefix,
    project: entry.project,
    environment: entry.environment,
    issuer: entry.issuer,
    stage: entry.stage,
    createdAt: entry.createdAtInMs === null ? null : new Date(entry.createdAtInMs).toISOString(),
    ageInDays: entry.createdAtInMs === null ? null : Math.floor((nowInMs - entry.createdAtInMs) / DAY_IN_MS),
    expiresAt: entry.expiresAtInMs === null ? null : new Date(entry.expiresAtInMs).toISOString(),
    daysToExpiry: entry.daysToExpiry,
    status: entry.status,
    severity: entry.severity,
    ...(entry.versionsByStage === undefined ? {} : { versionsByStage: entry.versionsByStage }),
  };
}

/** `palisade credentials report`: the inventory of managed credentials and API keys, as a table or JSON. */
export function addReportCommand({ command, run }: CommandGroup, deps: CredentialsCommandDeps, clock: Clock): void {
  command
    .command("report")
    .description("Inventory: id, prefix, project, environment, stage, age, expiry, status of every managed credential and Palisade API key")
    .option("--project <id>", "only this project's credentials")
    .option("--json", "print JSON")
    .action(
      run(async (options: { project?: string; json?: boolean }) => {
        const services = await deps.getServices();
        const nowInMs = clock.nowInMs();
        const entries = (await collectInventory({ secrets: services.secrets, apiKeys: services.apiKeys }, nowInMs))
          .filter((entry) => options.project === undefined || entry.project === options.project)
          .sort((a, b) => a.kind.localeCompare(b.kind) || a.project.localeCompare(b.project) || a.id.localeCompare(b.id));
        if (options.json === true) {
          deps.stdout.write(`${JSON.stringify(entries.map((entry) => toJson(entry, nowInMs)), null, 2)}\n`);
          return;
        }
        if (services.secrets === null) deps.stderr.write("No Key Vault is configured (AZURE_KEYVAULT_URL): only API keys are listed.\n");
        if (entries.length === 0) {
          deps.stderr.write("No credentials.\n");
          return;
        }
        const rows = entries.map((entry) => {
          const expiry =
            entry.expiresAtInMs === null
              ? "never (!)"
              : `${isoMinute(entry.expiresAtInMs)} (${entry.expiresAtInMs > nowInMs ? `in ${formatSpan(entry.expiresAtInMs - nowInMs)}` : `${formatSpan(entry.expiresAtInMs - nowInMs)} ago`})`;
          return [
            entry.kind,
            entry.id,
            entry.prefix,
            entry.project,
            entry.environment ?? "-",
            entry.stage,
            entry.createdAtInMs === null ? "-" : formatSpan(nowInMs - entry.createdAtInMs),
            expiry,
            entry.severity === "ok" ? entry.status : `${entry.status} ${entry.severity.toUpperCase()}`,
          ];
        });
        deps.stdout.write(table([["KIND", "ID", "PREFIX", "PROJECT", "ENVIRONMENT", "STAGE", "AGE", "EXPIRES", "STATUS"], ...rows]));
      }),
    );
}
