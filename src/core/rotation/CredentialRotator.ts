import type { AuditEvent } from "../audit/AuditEvent.js";
import type { AuditPublisher } from "../audit/AuditPublisher.js";
import type { Clock } from "../clock.js";
import { PalisadeError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { SecretStore } from "../secrets/SecretStore.js";
import { credentialAuditEvent } from "./credentialAuditEvent.js";
import type { CredentialIssuer } from "./CredentialIssuer.js";
import { listManagedCredentialIds, loadCredentialVersions } from "./listManagedCredentials.js";
import {
  type CredentialVersion,
  DAY_IN_MS,
  type IssuerKind,
  type ManagedCredential,
  credentialOf,
  currentVersionOf,
  tagsForVersion,
  withStage,
} from "./managedCredential.js";
import {
  IDLE_ROTATION_STATE,
  type RotationState,
  type RotationStateStore,
  type StoredRotationState,
  isRotationStateConflictError,
} from "./RotationStateStore.js";

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

/** Thrown inside a run when another run changed the row: the run stops without touching anything more. */
class LostRace extends Error {}

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
        row = row === null ? await this.write(() => this.deps.states.create(credentialId, begun, options)) : await this.advance(row, begun, runId, options);
        this.deps.logger.info("credential rotation begun", { credentialId, rotationId: begun.rotationId, forced: options.force === true });
        await this.hook("begun", row);
      } else {
        const { owner, leaseUntilInMs } = row.state;
        if (owner !== null && leaseUntilInMs !== null && leaseUntilInMs > this.deps.clock.nowInMs()) {
          return { credentialId, status: "busy", rotationId: row.state.rotationId, step: row.state.step, reason: "rotation_in_progress" };
        }
        row = await this.advance(row, row.state, runId, options); // claim the resumed rotation
        this.deps.logger.info("credential rotation resumed", { credentialId, rotationId: row.state.rotationId, step: row.state.step });
      }

      for (;;) {
        versions = await loadCredentialVersions(this.deps.secrets, credentialId, options);
        switch (row.state.step) {
          case "begun":
            row = await this.mintAndStore(credential, issuer, row, versions, runId, options);
            break;
          case "stored":
            row = await this.verify(credential, issuer, row, runId, options);
            break;
          case "rolling_back":
            row = await this.rollBack(credential, issuer, row, versions, options);
            return { credentialId, status: "rolled_back", rotationId: row.state.lastRotationId, step: row.state.step, reason: row.state.lastFailureReason ?? "verification_failed" };
          case "verified":
            row = await this.promote(credential, row, versions, runId, options);
            break;
          case "promoted": {
            const drainEndsAtInMs = (row.state.promotedAtInMs ?? 0) + (row.state.overlapInMs ?? credential.overlapInMs);
            // The row's Timestamp was written by this run's last CAS: the storage service's clock, not ours.
            if (row.serverTimestampInMs < drainEndsAtInMs) {
              row = await this.advance(row, { ...row.state, owner: null, leaseUntilInMs: null }, null, options);
              return { credentialId, status: "draining", rotationId: row.state.rotationId, step: row.state.step, drainEndsAtInMs };
            }
            const rotationId = row.state.rotationId;
            row = await this.retirePrevious(credential, issuer, row, versions, runId, options);
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

  private async mintAndStore(
    credential: ManagedCredential,
    issuer: CredentialIssuer,
    row: StoredRotationState,
    versions: readonly CredentialVersion[],
    runId: string,
    options: RotateOptions,
  ): Promise<StoredRotationState> {
    const rotationId = requireText(row.state.rotationId, "rotationId");
    // A crash after storing but before the state write: adopt what was stored instead of minting again.
    let pending = versions.find((v) => v.rotationId === rotationId && v.stage === "pending" && v.enabled) ?? null;
    if (pending === null) {
      const slotsInUse = versions
        .filter((v) => v.enabled && (v.stage === "current" || v.stage === "previous") && v.slot !== null)
        .map((v) => v.slot ?? "");
      const expiresAtInMs = this.deps.clock.nowInMs() + 2 * credential.rotationPeriodInDays * DAY_IN_MS;
      const minted = await issuer.mint(credential, { rotationId, slotsInUse, expiresAtInMs, abortSignal: options.abortSignal });
      await this.hook("minted", row);
      const stored = await this.deps.secrets.setSecret(credential.id, minted.value, {
        tags: tagsForVersion(credential, { stage: "pending", slot: minted.slot, issuerKeyId: minted.issuerKeyId, rotationId }),
        expiresAtInMs,
        contentType: "text/plain",
        abortSignal: options.abortSignal,
      });
      pending = {
        version: stored.version,
        stage: "pending",
        slot: minted.slot,
        issuerKeyId: minted.issuerKeyId,
        rotationId,
        enabled: true,
        createdAtInMs: stored.createdAtInMs,
        updatedAtInMs: stored.updatedAtInMs,
        expiresAtInMs: stored.expiresAtInMs,
        notBeforeInMs: stored.notBeforeInMs,
        tags: stored.tags,
      };
      await this.hook("stored", row);
    }
    await this.publish(this.event("key_created", credential, rotationId, "success", { version: pending.version, stage: "pending", slot: pending.slot, issuerKeyId: pending.issuerKeyId }));
    return this.advance(row, { ...row.state, step: "stored", pendingVersion: pending.version }, runId, options);
  }

  private async verify(
    credential: ManagedCredential,
    issuer: CredentialIssuer,
    row: StoredRotationState,
    runId: string,
    options: RotateOptions,
  ): Promise<StoredRotationState> {
    const pendingVersion = requireText(row.state.pendingVersion, "pendingVersion");
    const pending = await this.deps.secrets.getSecret(credential.id, { version: pendingVersion, abortSignal: options.abortSignal });
    const accepted = pending !== null && (await issuer.verify(credential, pending.value, { abortSignal: options.abortSignal }));
    if (!accepted) {
      return this.advance(row, { ...row.state, step: "rolling_back", lastFailureReason: pending === null ? "pending_version_missing" : "verification_failed" }, runId, options);
    }
    await this.hook("verified", row);
    return this.advance(row, { ...row.state, step: "verified" }, runId, options);
  }

  private async rollBack(
    credential: ManagedCredential,
    issuer: CredentialIssuer,
    row: StoredRotationState,
    versions: readonly CredentialVersion[],
    options: RotateOptions,
  ): Promise<StoredRotationState> {
    const rotationId = requireText(row.state.rotationId, "rotationId");
    const reason = row.state.lastFailureReason ?? "verification_failed";
    const pending = versions.find((v) => v.version === row.state.pendingVersion) ?? null;
    if (pending !== null) {
      if (pending.issuerKeyId !== null) {
        await issuer.revoke(credential, { issuerKeyId: pending.issuerKeyId, slot: pending.slot }, { abortSignal: options.abortSignal });
      }
      if (pending.enabled || pending.stage !== "failed") {
        await this.deps.secrets.updateSecretProperties(credential.id, pending.version, { enabled: false, tags: withStage(pending.tags, "failed") }, options);
      }
    }
    await this.publish(this.event("rotation_failed", credential, rotationId, "error", { version: row.state.pendingVersion, stage: "failed", keptVersion: row.state.fromVersion }, reason));
    this.deps.logger.error("credential rotation failed verification; rolled back, the current credential is kept", {
      credentialId: credential.id,
      rotationId,
      reason,
      alert: true,
    });
    await this.hook("rolled_back", row);
    return this.advance(
      row,
      { ...IDLE_ROTATION_STATE, lastRotationId: rotationId, lastOutcome: "rolled_back", lastFailureReason: reason, lastCompletedAtInMs: row.state.lastCompletedAtInMs },
      null,
      options,
    );
  }

  private async promote(
    credential: ManagedCredential,
    row: StoredRotationState,
    versions: readonly CredentialVersion[],
    runId: string,
    options: RotateOptions,
  ): Promise<StoredRotationState> {
    const rotationId = requireText(row.state.rotationId, "rotationId");
    const pending = versions.find((v) => v.version === row.state.pendingVersion);
    if (pending === undefined) throw new Error(`pending version of ${credential.id} is missing from Key Vault`);
    // The new version is tagged current first, then the old one previous: a reader always finds a current.
    let promotedAtInMs = pending.updatedAtInMs;
    if (pending.stage !== "current") {
      const promoted = await this.deps.secrets.updateSecretProperties(credential.id, pending.version, { tags: withStage(pending.tags, "current") }, options);
      promotedAtInMs = promoted.updatedAtInMs; // Key Vault's time: the start of the overlap
      await this.hook("promoted", row);
    }
    const from = versions.find((v) => v.version === row.state.fromVersion);
    if (from !== undefined && from.stage === "current") {
      await this.deps.secrets.updateSecretProperties(credential.id, from.version, { tags: withStage(from.tags, "previous") }, options);
      await this.hook("demoted", row);
    }
    await this.publish(
      this.event("key_rotated", credential, rotationId, "success", {
        version: pending.version,
        previousVersion: row.state.fromVersion,
        slot: pending.slot,
        issuerKeyId: pending.issuerKeyId,
        overlapInMs: row.state.overlapInMs,
      }),
    );
    return this.advance(row, { ...row.state, step: "promoted", promotedAtInMs }, runId, options);
  }

  private async retirePrevious(
    credential: ManagedCredential,
    issuer: CredentialIssuer,
    row: StoredRotationState,
    versions: readonly CredentialVersion[],
    runId: string,
    options: RotateOptions,
  ): Promise<StoredRotationState> {
    const rotationId = requireText(row.state.rotationId, "rotationId");
    const from = versions.find((v) => v.version === row.state.fromVersion) ?? null;
    if (from !== null) {
      if (from.stage !== "retired" && from.issuerKeyId !== null) {
        await issuer.revoke(credential, { issuerKeyId: from.issuerKeyId, slot: from.slot }, { abortSignal: options.abortSignal });
        await this.hook("revoked", row);
      }
      await this.publish(this.event("key_revoked", credential, rotationId, "success", { version: from.version, stage: "retired", slot: from.slot, issuerKeyId: from.issuerKeyId }));
      if (from.enabled || from.stage !== "retired") {
        // Disabled, never purged: the version stays for the record.
        await this.deps.secrets.updateSecretProperties(credential.id, from.version, { enabled: false, tags: withStage(from.tags, "retired") }, options);
        await this.hook("retired", row);
      }
    }
    this.deps.logger.info("credential rotation completed", { credentialId: credential.id, rotationId });
    return this.advance(
      row,
      { ...IDLE_ROTATION_STATE, lastRotationId: rotationId, lastOutcome: "completed", lastFailureReason: null, lastCompletedAtInMs: row.serverTimestampInMs },
      runId,
      options,
    );
  }

  /** CAS-writes the next state; the lease is renewed for `owner` (or released when null). */
  private async advance(row: StoredRotationState, next: RotationState, owner: string | null, options: RotateOptions): Promise<StoredRotationState> {
    const leased: RotationState =
      next.step === "idle" || owner === null
        ? { ...next, owner: null, leaseUntilInMs: null }
        : { ...next, owner, leaseUntilInMs: this.deps.clock.nowInMs() + this.leaseInMs };
    return this.write(() => this.deps.states.update(row.credentialId, leased, row.etag, options));
  }

  private async write(operation: () => Promise<StoredRotationState>): Promise<StoredRotationState> {
    try {
      return await operation();
    } catch (error) {
      if (isRotationStateConflictError(error)) throw new LostRace();
      throw error;
    }
  }

  private async hook(checkpoint: RotationCheckpoint, row: StoredRotationState): Promise<void> {
    await this.deps.afterStep?.(checkpoint, { credentialId: row.credentialId, rotationId: row.state.rotationId ?? "" });
  }

  private event(
    type: AuditEvent["type"],
    credential: ManagedCredential,
    rotationId: string,
    status: AuditEvent["status"],
    details: Readonly<Record<string, string | number | boolean | null>>,
    reason?: string,
  ): AuditEvent {
    return credentialAuditEvent({
      type,
      actorId: this.actorId,
      project: credential.project,
      environment: credential.environment,
      status,
      ...(reason === undefined ? {} : { reason }),
      atInMs: this.deps.clock.nowInMs(),
      policyVersion: this.deps.policyVersion,
      details: { credentialId: credential.id, issuer: credential.issuer, rotationId, ...details },
      idempotencyParts: [credential.id, rotationId],
      newEventId: this.deps.newId,
    });
  }

  private async publish(event: AuditEvent): Promise<void> {
    await this.deps.audit.publish([event]);
  }
}

function requireText(value: string | null, field: string): string {
  if (value === null || value === "") throw new Error(`rotation state is missing ${field}`);
  return value;
}

/** A stable, value-free reason for an error: its code, else its name. */
export function reasonOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return error.code;
  if (error instanceof Error) return error.name;
  return "unknown_error";
}
