import { type Logger } from "../logger.js";
import { type RotationStatus } from "../rotation/CredentialRotator.js";
import { type AdminAccess, type AdminCaller, quoted } from "./AdminAccess.js";
import { type AdminAuditTrail } from "./AdminAuditTrail.js";
import { adminNotFound } from "./adminErrors.js";
import { parseAdminBody, rotateCredentialRequestSchema } from "./adminRequests.js";
import { type CredentialRotation } from "./CredentialRotation.js";

export interface CredentialRotationView {
  readonly object: "credential.rotation";
  readonly credentialId: string;
  readonly project: string;
  readonly status: RotationStatus;
  readonly rotationId: string | null;
  readonly step: string;
  /** While draining: when the previous value is revoked (by the rotateKeys timer). */
  readonly drainEndsAt: string | null;
  readonly reason: string | null;
}

/** Forced rotations of managed upstream credentials, on an administrator's request. */
export class CredentialAdministration {
  constructor(
    private readonly deps: {
      readonly access: AdminAccess;
      readonly trail: AdminAuditTrail;
      /** Null when no Key Vault is configured: there are no managed credentials then. */
      readonly credentials: CredentialRotation | null;
      readonly logger: Logger;
    },
  ) {}

  /**
   * POST /credentials/{id}/rotate `{ overlapInSeconds? }`: rotates a managed upstream credential now
   * (forced), through the CredentialRotator. The request is recorded before the rotation starts; the
   * rotator records each of its steps itself.
   */
  async rotateCredential(caller: AdminCaller, credentialId: string, body: unknown): Promise<CredentialRotationView> {
    const { access, trail, credentials } = this.deps;
    // Whoever administers nothing learns nothing about which credentials exist.
    const { principal } = await access.requireAnyProject(caller);
    const request = parseAdminBody(rotateCredentialRequestSchema, body);
    const credential = credentials === null ? null : await credentials.describe(credentialId);
    if (credentials === null || credential === null) {
      throw adminNotFound(`"${quoted(credentialId)}" is not a managed credential in Key Vault. List them with \`palisade credentials report\`.`);
    }
    const project = access.projectAdministeredBy(principal, credential.project);
    await trail.publish([
      trail.event(
        "key_rotated",
        principal,
        project,
        caller,
        { credentialId: credential.id, issuer: credential.issuer, trigger: "admin_api", overlapInSeconds: request.overlapInSeconds ?? null },
        "rotation_requested",
      ),
    ]);
    const outcome = await credentials.rotate(credential.id, { force: true, ...(request.overlapInSeconds === undefined ? {} : { overlapInMs: request.overlapInSeconds * 1000 }) });
    this.deps.logger.info("credential rotation requested", { credentialId: credential.id, project: project.id, status: outcome.status, actor: principal.id, requestId: caller.requestId });
    return {
      object: "credential.rotation",
      credentialId: credential.id,
      project: project.id,
      status: outcome.status,
      rotationId: outcome.rotationId,
      step: outcome.step,
      drainEndsAt: outcome.drainEndsAtInMs === undefined ? null : new Date(outcome.drainEndsAtInMs).toISOString(),
      reason: outcome.reason ?? null,
    };
  }
}
