import type { AuditEvent } from "../audit/AuditEvent.js";
import { credentialAuditEvent } from "./credentialAuditEvent.js";
import type { CredentialIssuer } from "./CredentialIssuer.js";
import type { CredentialRotatorDeps, RotateOptions, RotationCheckpoint } from "./CredentialRotator.js";
import type { ManagedCredential } from "./managedCredential.js";
import { type RotationState, type StoredRotationState, isRotationStateConflictError } from "./RotationStateStore.js";

/** Thrown inside a run when another run changed the row: the run stops without touching anything more. */
export class LostRace extends Error {}

export interface RotationRunContext {
  readonly deps: CredentialRotatorDeps;
  readonly credential: ManagedCredential;
  readonly issuer: CredentialIssuer;
  /** This run's lease owner id. */
  readonly runId: string;
  readonly options: RotateOptions;
  readonly leaseInMs: number;
  /** Who acts, in audit events. */
  readonly actorId: string;
}

/**
 * One run of one credential's rotation: what every step needs besides its own logic — the state row's
 * compare-and-set with the run's lease, the crash hooks, and the audit events it records.
 */
export class RotationRun {
  constructor(readonly context: RotationRunContext) {}

  get deps(): CredentialRotatorDeps {
    return this.context.deps;
  }

  get credential(): ManagedCredential {
    return this.context.credential;
  }

  get issuer(): CredentialIssuer {
    return this.context.issuer;
  }

  get options(): RotateOptions {
    return this.context.options;
  }

  /** The first state row of a credential that never rotated. */
  create(state: RotationState): Promise<StoredRotationState> {
    return this.write(() => this.deps.states.create(this.credential.id, state, this.options));
  }

  /** CAS-writes the next state; the lease is renewed for this run, or released with `release`. */
  advance(row: StoredRotationState, next: RotationState, lease: "renew" | "release" = "renew"): Promise<StoredRotationState> {
    const leased: RotationState =
      next.step === "idle" || lease === "release"
        ? { ...next, owner: null, leaseUntilInMs: null }
        : { ...next, owner: this.context.runId, leaseUntilInMs: this.deps.clock.nowInMs() + this.context.leaseInMs };
    return this.write(() => this.deps.states.update(row.credentialId, leased, row.etag, this.options));
  }

  async hook(checkpoint: RotationCheckpoint, row: StoredRotationState): Promise<void> {
    await this.deps.afterStep?.(checkpoint, { credentialId: row.credentialId, rotationId: row.state.rotationId ?? "" });
  }

  async record(
    type: AuditEvent["type"],
    rotationId: string,
    status: AuditEvent["status"],
    details: Readonly<Record<string, string | number | boolean | null>>,
    reason?: string,
  ): Promise<void> {
    const { credential } = this;
    const event = credentialAuditEvent({
      type,
      actorId: this.context.actorId,
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
    await this.deps.audit.publish([event]);
  }

  private async write(operation: () => Promise<StoredRotationState>): Promise<StoredRotationState> {
    try {
      return await operation();
    } catch (error) {
      if (isRotationStateConflictError(error)) throw new LostRace();
      throw error;
    }
  }
}

export function requireText(value: string | null, field: string): string {
  if (value === null || value === "") throw new Error(`rotation state is missing ${field}`);
  return value;
}
