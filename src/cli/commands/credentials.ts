import { type Command } from "commander";
import type { AuditPublisher } from "../../core/audit/AuditPublisher.js";
import type { ApiKeyRecord } from "../../core/auth/ApiKeyStore.js";
import type { Clock } from "../../core/clock.js";
import { type InventoryEntry, collectInventory } from "../../core/expiry/credentialInventory.js";
import type { CredentialIssuer } from "../../core/rotation/CredentialIssuer.js";
import type { CredentialRotator, RotationOutcome } from "../../core/rotation/CredentialRotator.js";
import { DAY_IN_MS, ISSUER_KINDS, type IssuerKind, type ManagedCredential } from "../../core/rotation/managedCredential.js";
import { registerCredential } from "../../core/rotation/registerCredential.js";
import type { SecretStore } from "../../core/secrets/SecretStore.js";
import { formatSpan, parseDuration } from "./keys.js";
import { type RotationStateStore, type StoredRotationState, isRotationStateConflictError } from "../../core/rotation/RotationStateStore.js";
import { credentialAuditEvent } from "../../core/rotation/credentialAuditEvent.js";
import { loadCredentialVersions } from "../../core/rotation/listManagedCredentials.js";
import { credentialOf } from "../../core/rotation/managedCredential.js";
import { createCommandGroup } from "../commandGroup.js";

/** What the command needs; `getRotationServices()` provides all of it. */
export interface CredentialsCliServices {
  readonly secrets: SecretStore | null;
  readonly apiKeys: { list(): AsyncIterable<ApiKeyRecord> } | null;
  readonly rotator: CredentialRotator | null;
  /** The rotation state rows (the lease a crashed run left), for `rotate --force`. */
  readonly states: RotationStateStore | null;
  readonly issuers: Partial<Record<IssuerKind, CredentialIssuer>>;
  readonly audit: AuditPublisher;
  readonly policyVersion: string;
  readonly newId: () => string;
}

export interface CredentialsCommandDeps {
  readonly getServices: () => Promise<CredentialsCliServices>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Where `register --value-stdin` reads the value from (process.stdin by default). */
  readonly stdin?: AsyncIterable<string | Buffer>;
  readonly clock?: Clock;
  /** Who runs the command, for audit events (default "cli"). */
  readonly operator?: string;
  /** How `rotate --wait` waits between checks (tests pass a fast one). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** An issuer that can read an Azure account's keys (the register path for a slot already in use). */
interface KeyLister {
  listKeys(credential: ManagedCredential): Promise<{ key1: string; key2: string }>;
}
const canListKeys = (issuer: unknown): issuer is KeyLister => typeof issuer === "object" && issuer !== null && "listKeys" in issuer && typeof issuer.listKeys === "function";

const isoMinute = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")}Z`;
const MIN_OVERLAP_IN_MS = 15 * 60_000;
const MAX_WAIT_POLL_IN_MS = 30_000;

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

async function readAll(stream: AsyncIterable<string | Buffer>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text.replace(/\r?\n$/, "");
}

/**
 * `palisade credentials report|register|rotate`. Actions never exit the process: failures write one
 * line to stderr and reject with a CommanderError (exitCode 1). No value is ever printed.
 */
export function createCredentialsCommand(deps: CredentialsCommandDeps): Command {
  const clock = deps.clock ?? { nowInMs: () => Date.now() };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { command, run, fail } = createCommandGroup("credentials", "Managed upstream credentials in Key Vault: inventory, registration, rotation", deps);

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

  command
    .command("register")
    .description("Put a credential under management: writes its first Key Vault version, tagged current (see docs/rotation.md)")
    .requiredOption("--name <name>", "Key Vault secret name (letters, digits, dashes)")
    .requiredOption("--issuer <kind>", `who issues it: ${ISSUER_KINDS.join(", ")}`)
    .requiredOption("--project <id>", "policy project id")
    .requiredOption("--target <ref>", "azure-openai: the account's ARM id; openai: <projectId>/<service account name>; palisade: the service account id")
    .option("--environment <name>", "environment tag", "default")
    .option("--deployment <name>", "azure-openai: a chat deployment to verify new keys against")
    .option("--rotation-period <days>", "rotate every (30d..365d, whole days)", "30d")
    .option("--overlap <duration>", "how long the previous credential stays valid after a rotation (at least 15m)", "24h")
    .option("--slot <slot>", "azure-openai: the key slot in use today (Key1 or Key2); its value is read through ARM")
    .option("--value-stdin", "read the value in use today from stdin instead of minting or reading one")
    .option("--issuer-key-id <id>", "with --value-stdin: the issuer's id of that value (service account id, key id)")
    .option("--json", "print JSON")
    .action(
      run(async (options: {
        name: string;
        issuer: string;
        project: string;
        target: string;
        environment: string;
        deployment?: string;
        rotationPeriod: string;
        overlap: string;
        slot?: string;
        valueStdin?: boolean;
        issuerKeyId?: string;
        json?: boolean;
      }) => {
        const issuerKind = ISSUER_KINDS.find((kind) => kind === options.issuer);
        if (issuerKind === undefined) return fail(`--issuer must be one of ${ISSUER_KINDS.join(", ")}.`);
        const periodInMs = parseDuration(options.rotationPeriod);
        if (periodInMs === null || periodInMs % DAY_IN_MS !== 0) return fail(`--rotation-period "${options.rotationPeriod}" must be whole days, such as 30d.`);
        const overlapInMs = parseDuration(options.overlap);
        if (overlapInMs === null || overlapInMs < MIN_OVERLAP_IN_MS) {
          return fail(`--overlap "${options.overlap}" must be at least 15m: readers cache credentials for 5 minutes.`);
        }
        if (options.slot !== undefined && options.slot !== "Key1" && options.slot !== "Key2") return fail("--slot must be Key1 or Key2.");
        if (issuerKind === "azure-openai" && options.slot === undefined) return fail("azure-openai credentials need --slot (the key slot in use today).");
        const credential: ManagedCredential = {
          id: options.name,
          issuer: issuerKind,
          project: options.project,
          environment: options.environment,
          target: options.target,
          deployment: options.deployment ?? null,
          rotationPeriodInDays: periodInMs / DAY_IN_MS,
          overlapInMs,
        };
        const services = await deps.getServices();
        if (services.secrets === null) return fail("No Key Vault is configured: set AZURE_KEYVAULT_URL.");
        const issuer = services.issuers[issuerKind] ?? null;
        let existing: { value: string; issuerKeyId: string; slot: string | null } | undefined;
        if (options.valueStdin === true) {
          const value = await readAll(deps.stdin ?? process.stdin);
          if (value === "") return fail("--value-stdin read nothing.");
          const issuerKeyId = options.slot ?? options.issuerKeyId;
          if (issuerKeyId === undefined) return fail("--value-stdin needs --issuer-key-id (or --slot for azure-openai), so the value can be revoked later.");
          existing = { value, issuerKeyId, slot: options.slot ?? null };
        } else if (issuerKind === "azure-openai") {
          if (!canListKeys(issuer)) return fail("No Azure OpenAI issuer is configured to read the keys; use --value-stdin.");
          const keys = await issuer.listKeys(credential);
          existing = { value: options.slot === "Key2" ? keys.key2 : keys.key1, issuerKeyId: options.slot ?? "Key1", slot: options.slot ?? "Key1" };
        }
        const stored = await registerCredential(
          { secrets: services.secrets, issuer, audit: services.audit, clock, newId: services.newId, policyVersion: services.policyVersion },
          existing === undefined ? { credential } : { credential, existing },
        );
        const summary = { id: credential.id, version: stored.version, issuer: issuerKind, project: credential.project, expiresAt: stored.expiresAtInMs === null ? null : new Date(stored.expiresAtInMs).toISOString() };
        if (options.json === true) deps.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else deps.stdout.write(`Registered ${credential.id} (${issuerKind}, project "${credential.project}"), version ${stored.version}, expiring ${summary.expiresAt ?? "never"}.\n`);
      }),
    );

  /** What `rotate` says when a run holds the lease: who, at which step, until when, and how to take over. */
  const describeHolder = (row: StoredRotationState | null): string => {
    const owner = row?.state.owner ?? null;
    const until = row?.state.leaseUntilInMs ?? null;
    if (owner === null || until === null) return "is held by another run; try again later.";
    return (
      `is held by run ${owner} (step ${row?.state.step ?? "?"}, rotation ${row?.state.rotationId ?? "?"}), whose lease runs until ${isoMinute(until)}. ` +
      `If that run is alive, wait for it. If it is dead (its process crashed or was stopped: check the rotateKeys logs for this run id), ` +
      `take over with: palisade credentials rotate ${row?.credentialId ?? "<id>"} --force --holder ${owner}`
    );
  };

  /**
   * `--force`: ends the lease of a run the operator confirmed dead (by naming it), audited first
   * (fail-closed), then the rotation resumes from its step in this run. The rotator's ETag checks
   * still guard the state: a run that was alive after all loses its next write and stops.
   */
  const takeOverLease = async (id: string, holder: string | undefined, services: CredentialsCliServices): Promise<void> => {
    if (services.states === null || services.secrets === null) return fail("No Key Vault is configured: set AZURE_KEYVAULT_URL.");
    const row = await services.states.get(id);
    const nowInMs = clock.nowInMs();
    const owner = row?.state.owner ?? null;
    const until = row?.state.leaseUntilInMs ?? null;
    if (row === null || owner === null || until === null || until <= nowInMs) {
      deps.stderr.write(`No run holds the lease of ${id}: nothing to take over.
`);
      return;
    }
    if (holder === undefined) return fail(`--force needs --holder naming the run you found dead: the rotation ${describeHolder(row)}`);
    if (holder !== owner) return fail(`the lease of ${id} is held by run ${owner}, not ${holder}: look again (palisade credentials rotate ${id}) before forcing.`);
    const credential = credentialOf(id, await loadCredentialVersions(services.secrets, id));
    const actor = deps.operator ?? "cli";
    const event = credentialAuditEvent({
      type: "key_rotated",
      actorId: actor,
      project: credential?.project ?? "_system",
      ...(credential === null ? {} : { environment: credential.environment }),
      status: "success",
      reason: "rotation_lease_taken_over",
      atInMs: nowInMs,
      policyVersion: services.policyVersion,
      details: { credentialId: id, previousOwner: owner, leaseUntil: new Date(until).toISOString(), step: row.state.step, rotationId: row.state.rotationId, actor, via: "cli" },
      newEventId: services.newId,
    });
    try {
      await services.audit.publish([event]);
    } catch (error) {
      return fail(`the take-over could not be recorded in the audit trail (${error instanceof Error ? error.message : String(error)}), so the lease was left as it is.`);
    }
    try {
      await services.states.update(id, { ...row.state, owner: null, leaseUntilInMs: null }, row.etag);
    } catch (error) {
      if (isRotationStateConflictError(error)) return fail(`the rotation state of ${id} changed meanwhile (the run may be alive): look again before forcing.`);
      throw error;
    }
    deps.stderr.write(`Took over the rotation of ${id} from run ${owner} (step ${row.state.step}); it resumes now.
`);
  };

  command
    .command("rotate")
    .description("Rotate one credential: resumes a rotation in flight; --now starts one even if not due (suspected compromise)")
    .argument("<id>", "the credential's Key Vault secret name")
    .option("--now", "rotate now, even if not due")
    .option("--force", "take over a rotation whose run holds the lease but is dead (crashed); needs --holder")
    .option("--holder <run>", "with --force: the run id holding the lease, as `rotate` printed it (confirms which run you found dead)")
    .option("--overlap <duration>", "overlap for this rotation (default: the credential's own); at least 15m")
    .option("--wait", "wait out the overlap and revoke the previous credential before returning")
    .option("--json", "print JSON")
    .action(
      run(async (id: string, options: { now?: boolean; force?: boolean; holder?: string; overlap?: string; wait?: boolean; json?: boolean }) => {
        if (options.holder !== undefined && options.force !== true) return fail("--holder only goes with --force.");
        let overlapInMs: number | undefined;
        if (options.overlap !== undefined) {
          const parsed = parseDuration(options.overlap);
          if (parsed === null || parsed < MIN_OVERLAP_IN_MS) return fail(`--overlap "${options.overlap}" must be at least 15m: readers cache credentials for 5 minutes.`);
          overlapInMs = parsed;
        }
        const services = await deps.getServices();
        if (services.rotator === null) return fail("No Key Vault is configured: set AZURE_KEYVAULT_URL.");
        const rotator = services.rotator;
        if (options.force === true) await takeOverLease(id, options.holder, services);
        let outcome: RotationOutcome = await rotator.rotate(id, { force: options.now === true, ...(overlapInMs === undefined ? {} : { overlapInMs }) });
        while (options.wait === true && outcome.status === "draining") {
          const remaining = (outcome.drainEndsAtInMs ?? 0) - clock.nowInMs();
          deps.stderr.write(`Draining: the previous credential stays valid until ${outcome.drainEndsAtInMs === undefined ? "the overlap ends" : isoMinute(outcome.drainEndsAtInMs)}.\n`);
          await sleep(Math.min(MAX_WAIT_POLL_IN_MS, Math.max(1_000, remaining)));
          outcome = await rotator.rotate(id);
        }
        if (options.json === true) {
          deps.stdout.write(`${JSON.stringify({ ...outcome, ...(outcome.drainEndsAtInMs === undefined ? {} : { drainEndsAt: new Date(outcome.drainEndsAtInMs).toISOString() }) }, null, 2)}\n`);
        } else {
          const detail =
            outcome.status === "draining"
              ? ` The previous credential is revoked after ${outcome.drainEndsAtInMs === undefined ? "the overlap" : isoMinute(outcome.drainEndsAtInMs)} by the rotateKeys timer (or rerun with --wait).`
              : outcome.reason === undefined
                ? ""
                : ` (${outcome.reason})`;
          deps.stdout.write(`${id}: ${outcome.status}${outcome.rotationId === null ? "" : `, rotation ${outcome.rotationId}`}.${detail}\n`);
        }
        if (outcome.status === "busy") {
          const row = await services.states?.get(id).catch(() => null);
          command.error(`error: rotation of ${id} ${describeHolder(row ?? null)}`, { exitCode: 1, code: "palisade.credentials.rotation" });
        }
        if (outcome.status === "rolled_back" || outcome.status === "error") {
          command.error(`error: rotation of ${id} did not complete (${outcome.reason ?? outcome.status}).`, {
            exitCode: 1,
            code: "palisade.credentials.rotation",
          });
        }
      }),
    );

  return command;
}
