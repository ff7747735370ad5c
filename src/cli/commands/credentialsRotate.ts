import type { RotationOutcome } from "../../core/rotation/CredentialRotator.js";
import { type StoredRotationState, isRotationStateConflictError } from "../../core/rotation/RotationStateStore.js";
import { credentialAuditEvent } from "../../core/rotation/credentialAuditEvent.js";
import { loadCredentialVersions } from "../../core/rotation/listManagedCredentials.js";
import { credentialOf } from "../../core/rotation/managedCredential.js";
import { type CommandGroup } from "../commandGroup.js";
import { type Clock } from "../../core/clock.js";
import { type CredentialsCliServices, type CredentialsCommandDeps } from "./credentials.js";
import { parseDuration } from "./keys.js";
import { MIN_OVERLAP_IN_MS, isoMinute } from "./credentialsTime.js";

const MAX_WAIT_POLL_IN_MS = 30_000;

/** `palisade credentials rotate`: one rotation, resumed or started; `--force` takes over a dead run's lease. */
export function addRotateCommand({ command, run, fail }: CommandGroup, deps: CredentialsCommandDeps, clock: Clock): void {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

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
}
