import { type AuditEventFactory } from "../audit/AuditEventFactory.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { type ApiKeyService } from "../auth/ApiKeyService.js";
import { type Authenticator } from "../auth/Authenticator.js";
import { type Clock } from "../clock.js";
import { type Logger } from "../logger.js";
import { type Policy } from "../policy/schema.js";
import { AdminAccess, type AdminCaller } from "./AdminAccess.js";
import { AdminAuditTrail } from "./AdminAuditTrail.js";
import { ApiKeyAdministration, type CreatedKeyView, type RotatedKeyView, type ScheduleKeyRevocation } from "./ApiKeyAdministration.js";
import { CredentialAdministration, type CredentialRotationView } from "./CredentialAdministration.js";
import { type CredentialRotation } from "./CredentialRotation.js";
import { type MemberView, ProjectDirectory, type ProjectView, type ServiceAccountView } from "./ProjectDirectory.js";
import { type ApiKeyView, type ListView } from "./adminViews.js";

export type { AdminCaller } from "./AdminAccess.js";

export interface AdminServiceDeps {
  readonly authenticator: Pick<Authenticator, "authenticate">;
  readonly apiKeys: Pick<ApiKeyService, "create" | "get" | "list" | "revoke" | "status">;
  /** Null: rotations with an overlap are refused (the old key can only be revoked at once). */
  readonly scheduleKeyRevocation: ScheduleKeyRevocation | null;
  /** Null when no Key Vault is configured: there are no managed credentials then. */
  readonly credentials: CredentialRotation | null;
  readonly policy: Policy;
  /** Fail-closed: an admin action whose event cannot be published is not carried out. */
  readonly audit: AuditPublisher;
  readonly events: Pick<AuditEventFactory, "create">;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The admin API, one entry point for the functions: who administers what (ProjectDirectory), the keys
 * of a project (ApiKeyAdministration) and forced credential rotations (CredentialAdministration). Only
 * Entra ID users with the owner or admin role in the project may act (AdminAccess); every change is an
 * audit event published fail-closed before it takes effect (AdminAuditTrail), so nothing happens that
 * the trail does not show.
 */
export class AdminService {
  private readonly projects: ProjectDirectory;
  private readonly keys: ApiKeyAdministration;
  private readonly credentials: CredentialAdministration;

  constructor(deps: AdminServiceDeps) {
    const access = new AdminAccess(deps.authenticator, deps.policy);
    const trail = new AdminAuditTrail({ audit: deps.audit, events: deps.events, revokeKey: (keyId) => deps.apiKeys.revoke(keyId), logger: deps.logger });
    this.projects = new ProjectDirectory(access, deps.policy);
    this.keys = new ApiKeyAdministration({ access, trail, apiKeys: deps.apiKeys, scheduleKeyRevocation: deps.scheduleKeyRevocation, policy: deps.policy, clock: deps.clock, logger: deps.logger });
    this.credentials = new CredentialAdministration({ access, trail, credentials: deps.credentials, logger: deps.logger });
  }

  listProjects(caller: AdminCaller): Promise<ListView<ProjectView>> {
    return this.projects.listProjects(caller);
  }

  listMembers(caller: AdminCaller, projectId: string): Promise<ListView<MemberView>> {
    return this.projects.listMembers(caller, projectId);
  }

  listServiceAccounts(caller: AdminCaller, projectId: string): Promise<ListView<ServiceAccountView>> {
    return this.projects.listServiceAccounts(caller, projectId);
  }

  listKeys(caller: AdminCaller, projectId: string): Promise<ListView<ApiKeyView>> {
    return this.keys.listKeys(caller, projectId);
  }

  createKey(caller: AdminCaller, projectId: string, body: unknown): Promise<CreatedKeyView> {
    return this.keys.createKey(caller, projectId, body);
  }

  revokeKey(caller: AdminCaller, projectId: string, keyId: string): Promise<ApiKeyView> {
    return this.keys.revokeKey(caller, projectId, keyId);
  }

  rotateKey(caller: AdminCaller, projectId: string, keyId: string, body: unknown): Promise<RotatedKeyView> {
    return this.keys.rotateKey(caller, projectId, keyId, body);
  }

  rotateCredential(caller: AdminCaller, credentialId: string, body: unknown): Promise<CredentialRotationView> {
    return this.credentials.rotateCredential(caller, credentialId, body);
  }
}
