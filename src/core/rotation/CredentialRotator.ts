import type { AuditPublisher } from "../audit/AuditPublisher.js";
import type { Clock } from "../clock.js";
import { PalisadeError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { SecretStore } from "../secrets/SecretStore.js";
import type { CredentialIssuer } from "./CredentialIssuer.js";
import { listManagedCredentialIds, loadCredentialVersions } from "./listManagedCredentials.js";
import {
  type CredentialVersion,
  DAY_IN_MS,
  type IssuerKind,
  type ManagedCredential,
  credentialOf,
  currentVersionOf,
} from "./managedCredential.js";
import { IDLE_ROTATION_STATE, type RotationState, type RotationStateStore } from "./RotationStateStore.js";
import { LostRace, RotationRun } from "./RotationRun.js";
import { mintAndStore, promote, retirePrevious, rollBack, verifyPending } from "./rotationSteps.js";

/** Points after each side effect, where a test hook may throw to simulate a crash. */
export type RotationCheckpoint =
  | "begun"
  | "minted"
  | "stored"
  | "verified"
  | "promoted"
  | "demoted"
  | "revoked"
  | "retired"
  | "rolled_back";

export interface CredentialRotatorDeps {
  readonly secrets: SecretStore;
  readonly states: RotationStateStore;
  readonly issuers: Partial<Record<IssuerKind, CredentialIssuer>>;
  readonly audit: AuditPublisher;
  /** Local time: due dates, leases and audit timestamps only. The overlap is measured by service timestamps. */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newId: () => string;
  readonly policyVersion: string;
  /** How long a run holds a credential before another run may resume it (default 10 min). */
  readonly leaseInMs?: number;
  /** Called after each side effect; tests throw from it to simulate a crash. */
  readonly afterStep?: (checkpoint: RotationCheckpoint, context: { readonly credentialId: string; readonly rotationId: string }) => void | Promise<void>;
  /** Who acts, in audit events (default `rotateKeys`). */
  readonly actorId?: string;
}

export interface RotateOptions {
  /** Rotate now even if not due (suspected compromise). */
  readonly force?: boolean;
  /** Overrides the credential's overlap for this rotation. */
  readonly overlapInMs?: number;
  readonly abortSignal?: AbortSignal;
}

export type RotationStatus = "not_due" | "draining" | "completed" | "rolled_back" | "busy" | "error";

export interface RotationOutcome {
  readonly credentialId: string;
  readonly status: RotationStatus;
  readonly rotationId: string | null;
  /** Where the rotation stands after this run. */
  readonly step: RotationState["step"];
  /** While draining: when (service time) the previous version may be revoked. */
  readonly drainEndsAtInMs?: number;
  /** A stable code (never a value) when status is error or rolled_back. */
  readonly reason?: string;
}

export const DEFAULT_ROTATION_LEASE_IN_MS = 10 * 60_000;

/**
 * The staged rotation of one managed credential, resumable at every step:
 *
 *   idle -> begun -> (mint, store pending) -> stored -> (verify) -> verified -> (promote) -> promoted
 *        -> (drain the overlap, by service time) -> (revoke previous, disable its version) -> idle
 *   stored -(verification refused)-> rolling_back -> (revoke pending, disable it) -> idle
 *
 * The state row is advanced with ETag compare-and-set after each step; every step first checks
 * Key Vault for its own earlier effect (by rotation id and stage tags), so a step repeated after a
 * crash does not repeat its effect.
 */
export class CredentialRotator {
  private readonly leaseInMs: number;
  private readonly actorId: string;

  constructor(private readonly deps: CredentialRotatorDeps) {
    this.leaseInMs = Math.max(0, deps.leaseInMs ?? DEFAULT_ROTATION_LEASE_IN_MS);
    this.actorId = deps.actorId ?? "rotateKeys";
  }

  /** Every managed credential: resumes rotations in flight and starts those that are due. One failure does not stop the rest. */
  async rotateDue(options: { readonly abortSignal?: AbortSignal } = {}): Promise<RotationOutcome[]> {
    const outcomes: RotationOutcome[] = [];
    for await (const id of listManagedCredentialIds(this.deps.secrets, options)) {
      try {
        outcomes.push(await this.rotate(id, options));
      } catch (error) {
        const reason = reasonOf(error);
        this.deps.logger.error("credential rotation failed", { credentialId: id, reason });
        outcomes.push({ credentialId: id, status: "error", rotationId: null, step: "idle", reason });
      }
    }
    return outcomes;
  }

  async rotate(credentialId: string, options: RotateOptions = {}): Promise<RotationOutcome> {
    let versions = await loadCredentialVersions(this.deps.secrets, credentialId, options);
    const credential = credentialOf(credentialId, versions);
    if (credential === null) {
      throw new PalisadeError(404, "not_found_error", "not_found", `"${credentialId}" is not a managed credential in Key Vault. Register it with \`palisade credentials register\`.`);
    }
    const issuer = this.deps.issuers[credential.issuer];
    if (issuer === undefined) {
      throw new PalisadeError(500, "api_error", "internal_error", `No issuer is configured for "${credential.issuer}" credentials. Check the rotation settings.`);
    }
    const runId = this.deps.newId();
    const run = new RotationRun({ deps: this.deps, credential, issuer, runId, options, leaseInMs: this.leaseInMs, actorId: this.actorId });
    let row = await this.deps.states.get(credentialId, options);

    try {
      if (row === null || row.state.step === "idle") {
        const current = currentVersionOf(versions);
        if (current === null) {
          throw new PalisadeError(409, "invalid_request_error", "invalid_request", `"${credentialId}" has no usable current version to rotate from. Register a value first.`);
        }
        if (options.force !== true && !this.isDue(credential, current)) {
          return { credentialId, status: "not_due", rotationId: null, step: "idle" };
        }
        const begun: RotationState = {
          ...(row?.state ?? IDLE_ROTATION_STATE),
          step: "begun",
          rotationId: this.deps.newId(),
          owner: runId,
          leaseUntilInMs: this.deps.clock.nowInMs() + this.leaseInMs,
          fromVersion: current.version,
          pendingVersion: null,
          promotedAtInMs: null,
          overlapInMs: options.overlapInMs ?? credential.overlapInMs,
        };
        row = row === null ? await run.create(begun) : await run.advance(row, begun);
        this.deps.logger.info("credential rotation begun", { credentialId, rotationId: begun.rotationId, forced: options.force === true });
        await run.hook("begun", row);
      } else {
        const { owner, leaseUntilInMs } = row.state;
        if (owner !== null && leaseUntilInMs !== null && leaseUntilInMs > this.deps.clock.nowInMs()) {
          return { credentialId, status: "busy", rotationId: row.state.rotationId, step: row.state.step, reason: "rotation_in_progress" };
        }
        row = await run.advance(row, row.state); // claim the resumed rotation
        this.deps.logger.info("credential rotation resumed", { credentialId, rotationId: row.state.rotationId, step: row.state.step });
      }

      for (;;) {
        versions = await loadCredentialVersions(this.deps.secrets, credentialId, options);
        switch (row.state.step) {
          case "begun":
            row = await mintAndStore(run, row, versions);
            break;
          case "stored":
            row = await verifyPending(run, row);
            break;
          case "rolling_back":
            row = await rollBack(run, row, versions);
            return { credentialId, status: "rolled_back", rotationId: row.state.lastRotationId, step: row.state.step, reason: row.state.lastFailureReason ?? "verification_failed" };
          case "verified":
            row = await promote(run, row, versions);
            break;
          case "promoted": {
            const drainEndsAtInMs = (row.state.promotedAtInMs ?? 0) + (row.state.overlapInMs ?? credential.overlapInMs);
            // The row's Timestamp was written by this run's last CAS: the storage service's clock, not ours.
            if (row.serverTimestampInMs < drainEndsAtInMs) {
              row = await run.advance(row, row.state, "release");
              return { credentialId, status: "draining", rotationId: row.state.rotationId, step: row.state.step, drainEndsAtInMs };
            }
            const rotationId = row.state.rotationId;
            row = await retirePrevious(run, row, versions);
            return { credentialId, status: "completed", rotationId, step: row.state.step };
          }
          case "idle":
            return { credentialId, status: "completed", rotationId: row.state.lastRotationId, step: "idle" };
        }
      }
    } catch (error) {
      if (error instanceof LostRace) {
        this.deps.logger.warn("credential rotation stopped: another run holds it", { credentialId });
        return { credentialId, status: "busy", rotationId: row?.state.rotationId ?? null, step: row?.state.step ?? "idle", reason: "concurrent_rotation" };
      }
      throw error;
    }
  }

  private isDue(credential: ManagedCredential, current: CredentialVersion): boolean {
    return this.deps.clock.nowInMs() >= current.createdAtInMs + credential.rotationPeriodInDays * DAY_IN_MS;
  }
}

/** A stable, value-free reason for an error: its code, else its name. */
export function reasonOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return error.code;
  if (error instanceof Error) return error.name;
  return "unknown_error";
}
