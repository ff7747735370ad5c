import { type Command } from "commander";
import { type AuditEvent, type AuditEventType } from "../../core/audit/AuditEvent.js";
import { type ApiKeyService, type ApiKeyStatus, apiKeyStatus } from "../../core/auth/ApiKeyService.js";
import { type ApiKeyRecord } from "../../core/auth/ApiKeyStore.js";
import { apiKeyDisplayPrefix } from "../../core/auth/apiKeyFormat.js";
import { type Clock } from "../../core/clock.js";
import { type AuditEventFactory } from "../../core/audit/AuditEventFactory.js";
import { type Policy } from "../../core/policy/schema.js";
import { createCommandGroup } from "../commandGroup.js";

/**
 * How a key change made here reaches the audit trail: the same `key_created` / `key_revoked` events
 * the admin API writes, with the operator as actor. Publishing is fail-closed: a created key whose
 * event cannot be published is revoked again, and a revocation is recorded before it is done.
 */
export interface KeyChangeAudit {
  /** Publishes durably for the project (its audit chain); throws when the events cannot be recorded. */
  publish(project: string, events: readonly AuditEvent[]): Promise<void>;
  readonly events: Pick<AuditEventFactory, "create">;
  /** Who runs the command (`PALISADE_OPERATOR`, else user@host). */
  readonly operator: string;
}

export interface KeysCommandDeps {
  readonly getApiKeyService: () => Promise<ApiKeyService>;
  /** Every key change from this door is an audit event, as from the admin API. */
  readonly getAudit: () => Promise<KeyChangeAudit>;
  /** When given, `keys create` checks the project and service account against the policy. */
  readonly getPolicy?: () => Promise<Policy>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** For ages and expiry in listings (default: the system clock). */
  readonly clock?: Clock;
}

const UNIT_IN_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

/** `60d`, `12h`, `30m` -> milliseconds; null when not a positive whole duration. */
export function parseDuration(text: string): number | null {
  const match = /^([1-9][0-9]{0,6})([dhm])$/.exec(text.trim());
  if (match === null) return null;
  const [, amount, unit] = match;
  const perUnit = unit === undefined ? undefined : UNIT_IN_MS[unit];
  if (amount === undefined || perUnit === undefined) return null;
  return Number(amount) * perUnit;
}

/** A compact age or remaining time: `45m`, `5h`, `3d`. */
export function formatSpan(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return `${Math.floor(abs / 86_400_000)}d`;
  if (abs >= 3_600_000) return `${Math.floor(abs / 3_600_000)}h`;
  return `${Math.floor(abs / 60_000)}m`;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoMinute = (ms: number): string => `${iso(ms).slice(0, 16).replace("T", " ")}Z`;

interface ListedKey {
  readonly keyId: string;
  readonly prefix: string;
  readonly project: string;
  readonly serviceAccount: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  readonly status: ApiKeyStatus;
}

/** What a listing may show: never the hash. */
function toListed(record: ApiKeyRecord, nowInMs: number): ListedKey {
  return {
    keyId: record.keyId,
    prefix: apiKeyDisplayPrefix(record.keyId),
    project: record.project,
    serviceAccount: record.serviceAccount,
    createdAt: iso(record.createdAtInMs),
    expiresAt: iso(record.expiresAtInMs),
    revokedAt: record.revokedAtInMs === null ? null : iso(record.revokedAtInMs),
    status: apiKeyStatus(record, nowInMs),
  };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows.reduce<number[]>((acc, row) => row.map((cell, index) => Math.max(acc[index] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join("  ")).join("\n") + "\n";
}

/**
 * `palisade keys create|list|revoke`. Actions never exit the process: on failure they write the
 * message to stderr and `parseAsync` rejects with a CommanderError (exitCode 1); the caller sets the
 * process exit code. (--help also surfaces as a CommanderError, code "commander.helpDisplayed", exitCode 0.)
 */
export function createKeysCommand(deps: KeysCommandDeps): Command {
  const clock = deps.clock ?? { nowInMs: () => Date.now() };
  const { command: keys, run, fail } = createCommandGroup("keys", "Create, list and revoke Palisade API keys (pal_...) for service accounts", deps);

  const keyEvent = async (type: AuditEventType, record: ApiKeyRecord, details: Readonly<Record<string, string>>): Promise<{ audit: KeyChangeAudit; event: AuditEvent }> => {
    const audit = await deps.getAudit();
    const policy = deps.getPolicy === undefined ? null : await deps.getPolicy();
    const environment = policy?.projects.find((project) => project.id === record.project)?.environment;
    const event = audit.events.create({
      type,
      actor: { kind: "user", id: audit.operator },
      project: record.project,
      ...(environment === undefined ? {} : { environment }),
      status: "success",
      details: { keyId: record.keyId, serviceAccount: record.serviceAccount, ...details, actor: audit.operator, via: "cli" },
    });
    return { audit, event };
  };

  keys
    .command("create")
    .description("Create a key for a service account; the key is printed once")
    .requiredOption("--project <id>", "project id (policy.projects[].id)")
    .requiredOption("--service-account <id>", "service account id (policy.serviceAccounts[].id)")
    .requiredOption("--expires-in <duration>", "lifetime: a whole number of days, hours or minutes (60d, 12h, 30m)")
    .option("--json", "print JSON")
    .action(
      run(async (options: { project: string; serviceAccount: string; expiresIn: string; json?: boolean }) => {
        const expiresInMs = parseDuration(options.expiresIn);
        if (expiresInMs === null) fail(`--expires-in "${options.expiresIn}" is not a duration; use a whole number with d, h or m, such as 60d.`);
        if (deps.getPolicy !== undefined) {
          const policy = await deps.getPolicy();
          if (!policy.projects.some((project) => project.id === options.project)) {
            fail(`project "${options.project}" is not in the policy (known: ${policy.projects.map((project) => project.id).join(", ")}).`);
          }
          const account = policy.serviceAccounts.find((candidate) => candidate.id === options.serviceAccount && candidate.project === options.project);
          if (account === undefined) {
            const declared = policy.serviceAccounts.filter((candidate) => candidate.project === options.project).map((candidate) => candidate.id);
            fail(`service account "${options.serviceAccount}" is not declared for project "${options.project}" in the policy (declared: ${declared.join(", ") || "none"}).`);
          }
        }
        const service = await deps.getApiKeyService();
        const { apiKey, record } = await service.create({ project: options.project, serviceAccount: options.serviceAccount, expiresInMs: expiresInMs ?? 0 });
        try {
          const { audit, event } = await keyEvent("key_created", record, { expiresAt: iso(record.expiresAtInMs) });
          await audit.publish(record.project, [event]);
        } catch (error) {
          // No unaudited key may exist: take it back.
          const undone = await service.revoke(record.keyId).then(
            () => "it was revoked again",
            () => `revoking it failed too: revoke ${record.keyId} by hand`,
          );
          fail(`the key could not be recorded in the audit trail (${error instanceof Error ? error.message : String(error)}), so ${undone}. Check the Service Bus settings and retry.`);
        }
        if (options.json === true) {
          deps.stdout.write(`${JSON.stringify({ apiKey, ...toListed(record, clock.nowInMs()) }, null, 2)}\n`);
        } else {
          deps.stdout.write(`${apiKey}\n`);
        }
        deps.stderr.write(
          `Created key ${record.keyId} for service account "${record.serviceAccount}" in project "${record.project}", expiring ${isoMinute(record.expiresAtInMs)}.\n` +
            "Copy the key now: it will not be shown again (only its hash is stored).\n",
        );
      }),
    );

  keys
    .command("list")
    .description("List keys: id, prefix, project, service account, age, expiry, status (never secrets or hashes)")
    .option("--project <id>", "only this project's keys")
    .option("--json", "print JSON")
    .action(
      run(async (options: { project?: string; json?: boolean }) => {
        const service = await deps.getApiKeyService();
        const nowInMs = clock.nowInMs();
        const records: ApiKeyRecord[] = [];
        for await (const record of service.list(options.project === undefined ? {} : { project: options.project })) records.push(record);
        records.sort((a, b) => a.createdAtInMs - b.createdAtInMs || a.keyId.localeCompare(b.keyId));
        if (options.json === true) {
          deps.stdout.write(`${JSON.stringify(records.map((record) => toListed(record, nowInMs)), null, 2)}\n`);
          return;
        }
        if (records.length === 0) {
          deps.stderr.write("No keys.\n");
          return;
        }
        const rows = records.map((record) => {
          const status = apiKeyStatus(record, nowInMs);
          const remaining = record.expiresAtInMs - nowInMs;
          const expiry = `${isoMinute(record.expiresAtInMs)} (${remaining > 0 ? `in ${formatSpan(remaining)}` : `${formatSpan(remaining)} ago`})`;
          return [record.keyId, apiKeyDisplayPrefix(record.keyId), record.project, record.serviceAccount, formatSpan(nowInMs - record.createdAtInMs), expiry, status];
        });
        deps.stdout.write(table([["KEY ID", "PREFIX", "PROJECT", "SERVICE ACCOUNT", "AGE", "EXPIRES", "STATUS"], ...rows]));
      }),
    );

  keys
    .command("revoke")
    .description("Revoke a key at once (idempotent); running instances stop accepting it within their cache time (30 s)")
    .argument("<keyId>", "the key id (the part between pal_ and the second underscore)")
    .option("--json", "print JSON")
    .action(
      run(async (keyIdArgument: string, options: { json?: boolean }) => {
        // Accept a pasted prefix such as pal_<keyId>_… too.
        const keyId = /^pal_([a-z2-7]+)/.exec(keyIdArgument)?.[1] ?? keyIdArgument;
        const service = await deps.getApiKeyService();
        const existing = await service.get(keyId);
        if (existing === null) return fail(`no key with id "${keyId}" (see palisade keys list).`);
        // Recorded before it is done, as by the admin API; revoking a revoked key changes nothing and records nothing.
        if (existing.revokedAtInMs === null || existing.revokedAtInMs > clock.nowInMs()) {
          try {
            const { audit, event } = await keyEvent("key_revoked", existing, { revokedAt: iso(clock.nowInMs()) });
            await audit.publish(existing.project, [event]);
          } catch (error) {
            fail(`the revocation could not be recorded in the audit trail (${error instanceof Error ? error.message : String(error)}), so the key was NOT revoked. Check the Service Bus settings and retry.`);
          }
        }
        const record = await service.revoke(keyId);
        if (record === null) return fail(`no key with id "${keyId}" (see palisade keys list).`);
        if (options.json === true) {
          deps.stdout.write(`${JSON.stringify(toListed(record, clock.nowInMs()), null, 2)}\n`);
        } else {
          deps.stdout.write(`Revoked ${record.keyId} (project "${record.project}", service account "${record.serviceAccount}") at ${isoMinute(record.revokedAtInMs ?? clock.nowInMs())}.\n`);
        }
      }),
    );

  return keys;
}
