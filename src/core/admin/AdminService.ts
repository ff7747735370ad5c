import { type AuditEvent, type AuditEventType } from "../audit/AuditEvent.js";
import { type AuditPublisher } from "../audit/AuditPublisher.js";
import { type ApiKeyService, MAX_API_KEY_LIFETIME_IN_MS } from "../auth/ApiKeyService.js";
import { type ApiKeyRecord } from "../auth/ApiKeyStore.js";
import { type Authenticator } from "../auth/Authenticator.js";
import { type UserPrincipal } from "../auth/Principal.js";
import { type Clock } from "../clock.js";
import { type PalisadeError, invalidRequest } from "../errors.js";
import { type AuditEventFactory, actorOf } from "../audit/AuditEventFactory.js";
import { type Logger } from "../logger.js";
import { type Permission, type Policy, type ProjectPolicy, type Role } from "../policy/schema.js";
import { type RotationStatus } from "../rotation/CredentialRotator.js";
import { adminAuditUnavailable, adminConflict, adminNotFound, adminRoleRequired, notAdministered } from "./adminErrors.js";
import { createKeyRequestSchema, parseAdminBody, rotateCredentialRequestSchema, rotateKeyRequestSchema } from "./adminRequests.js";
import { type ApiKeyView, type ListView, apiKeyView, listView } from "./adminViews.js";
import { type CredentialRotation } from "./CredentialRotation.js";

/** Who is calling and how: the two credential headers and the request id (for the audit event). */
export interface AdminCaller {
  readonly authorization: string | null;
  readonly apiKey: string | null;
  readonly requestId: string;
}

/** Stores a revocation that takes effect at `atInMs` (a rotation overlap); null when there is no such key. */
export type ScheduleKeyRevocation = (keyId: string, atInMs: number) => Promise<ApiKeyRecord | null>;

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

export interface ProjectView {
  readonly object: "project";
  readonly id: string;
  readonly environment: string;
  readonly residency: string;
  readonly models: readonly { readonly name: string; readonly deployment: string }[];
  /** The caller's role in it. */
  readonly role: Role;
}

export interface MemberView {
  readonly object: "project.member";
  readonly principal: string;
  readonly displayName: string | null;
  readonly role: Role;
}

export interface ServiceAccountView {
  readonly object: "project.service_account";
  readonly id: string;
  readonly permissions: readonly Permission[];
  readonly ipAllowlist: readonly string[];
  readonly limits: { readonly requestsPerMinute: number | null; readonly tokensPerMinute: number | null };
}

/** The one answer that ever carries a key's secret. */
export interface CreatedKeyView {
  readonly object: "api_key.created";
  /** `pal_<keyId>_<secret>`: shown once, only its hash is stored. */
  readonly apiKey: string;
  readonly record: ApiKeyView;
}

export interface RotatedKeyView {
  readonly object: "api_key.rotated";
  /** The replacement, shown once. */
  readonly apiKey: string;
  readonly record: ApiKeyView;
  /** The old key, with `revokedAt` now or at the end of the overlap. */
  readonly previous: ApiKeyView;
}

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

const ADMIN_ROLES: readonly Role[] = ["owner", "admin"];
const DAY_IN_MS = 86_400_000;
const KEY_ID = /^[a-z2-7]{16}$/;

/** Caller-supplied text in messages: short and printable. */
const quoted = (text: string): string => text.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
const iso = (inMs: number): string => new Date(inMs).toISOString();

/**
 * The admin API: who administers what, and the keys of a project. Projects, members and service
 * accounts come from the policy file and are read-only here. Every change is an audit event published
 * fail-closed before it takes effect (a created key is revoked again when its event cannot be published),
 * so nothing happens that the trail does not show. Only Entra ID users with the owner or admin role
 * in the project may act; API keys never may.
 */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  /** GET /projects: the projects the caller is owner or admin of. */
  async listProjects(caller: AdminCaller): Promise<ListView<ProjectView>> {
    const principal = await this.authenticate(caller);
    const projects = this.administered(principal);
    if (projects.length === 0) throw adminRoleRequired("You are not an owner or admin of any project.");
    return listView(
      projects.map(({ project, role }) => ({
        object: "project",
        id: project.id,
        environment: project.environment,
        residency: project.residency,
        models: project.models.map((model) => ({ name: model.name, deployment: model.deployment })),
        role,
      })),
    );
  }

  /** GET /projects/{project}/members: the policy's members with a role in the project. */
  async listMembers(caller: AdminCaller, projectId: string): Promise<ListView<MemberView>> {
    const { project } = await this.requireAdmin(caller, projectId);
    const members: MemberView[] = [];
    for (const member of this.deps.policy.members) {
      const role = member.roles[project.id];
      if (role !== undefined) members.push({ object: "project.member", principal: member.principal, displayName: member.displayName ?? null, role });
    }
    return listView(members);
  }

  /** GET /projects/{project}/service-accounts: as declared in the policy. */
  async listServiceAccounts(caller: AdminCaller, projectId: string): Promise<ListView<ServiceAccountView>> {
    const { project } = await this.requireAdmin(caller, projectId);
    return listView(
      this.deps.policy.serviceAccounts
        .filter((account) => account.project === project.id)
        .map((account) => ({
          object: "project.service_account",
          id: account.id,
          permissions: account.permissions,
          ipAllowlist: account.ipAllowlist,
          limits: { requestsPerMinute: account.limits.requestsPerMinute ?? null, tokensPerMinute: account.limits.tokensPerMinute ?? null },
        })),
    );
  }

  /** GET /projects/{project}/keys: newest first; never a secret or a hash. */
  async listKeys(caller: AdminCaller, projectId: string): Promise<ListView<ApiKeyView>> {
    const { project } = await this.requireAdmin(caller, projectId);
    const records: ApiKeyRecord[] = [];
    for await (const record of this.deps.apiKeys.list({ project: project.id })) {
      if (record.project === project.id) records.push(record);
    }
    records.sort((a, b) => b.createdAtInMs - a.createdAtInMs || a.keyId.localeCompare(b.keyId));
    return listView(records.map((record) => this.view(record)));
  }

  /** POST /projects/{project}/keys `{ serviceAccount, expiresInDays }`. */
  async createKey(caller: AdminCaller, projectId: string, body: unknown): Promise<CreatedKeyView> {
    const { principal, project } = await this.requireAdmin(caller, projectId);
    const request = parseAdminBody(createKeyRequestSchema, body);
    this.requireServiceAccount(project, request.serviceAccount, (message) => invalidRequest(message, "serviceAccount"));
    const created = await this.deps.apiKeys.create({ project: project.id, serviceAccount: request.serviceAccount, expiresInMs: request.expiresInDays * DAY_IN_MS });
    const { record } = created;
    await this.publishOrUndo([this.event("key_created", principal, project, caller, { keyId: record.keyId, serviceAccount: record.serviceAccount, expiresAt: iso(record.expiresAtInMs) })], record.keyId);
    this.deps.logger.info("api key created", { project: project.id, keyId: record.keyId, serviceAccount: record.serviceAccount, actor: principal.id, requestId: caller.requestId });
    return { object: "api_key.created", apiKey: created.apiKey, record: this.view(record) };
  }

  /** DELETE /projects/{project}/keys/{keyId}: revokes at once; a key already revoked is answered as it is. */
  async revokeKey(caller: AdminCaller, projectId: string, keyId: string): Promise<ApiKeyView> {
    const { principal, project } = await this.requireAdmin(caller, projectId);
    const record = await this.projectKey(project, keyId);
    const nowInMs = this.deps.clock.nowInMs();
    if (record.revokedAtInMs !== null && record.revokedAtInMs <= nowInMs) return this.view(record);
    if (record.revokedAtInMs !== null) {
      // The key store keeps the first revocation time, so a scheduled revocation cannot be brought forward.
      throw adminConflict(
        `API key ${record.keyId} is already scheduled to be revoked at ${iso(record.revokedAtInMs)} (the end of a rotation overlap), and that time cannot be brought forward. If the key is compromised, ask an operator to disable its service account in the policy file.`,
      );
    }
    await this.publish([this.event("key_revoked", principal, project, caller, { keyId: record.keyId, serviceAccount: record.serviceAccount, revokedAt: iso(nowInMs) })]);
    const revoked = await this.deps.apiKeys.revoke(record.keyId);
    if (revoked === null) throw this.keyNotFound(project, keyId);
    this.deps.logger.info("api key revoked", { project: project.id, keyId: record.keyId, serviceAccount: record.serviceAccount, actor: principal.id, requestId: caller.requestId });
    return this.view(revoked);
  }

  /**
   * POST /projects/{project}/keys/{keyId}/rotate `{ overlapInSeconds?, expiresInDays? }`: issues a
   * replacement for the same service account and revokes the old key at once (overlap 0, the default)
   * or when the overlap ends.
   */
  async rotateKey(caller: AdminCaller, projectId: string, keyId: string, body: unknown): Promise<RotatedKeyView> {
    const { principal, project } = await this.requireAdmin(caller, projectId);
    const request = parseAdminBody(rotateKeyRequestSchema, body);
    const old = await this.projectKey(project, keyId);
    if (old.revokedAtInMs !== null) {
      throw adminConflict(`API key ${old.keyId} is revoked or already being replaced (revocation at ${iso(old.revokedAtInMs)}). Create a new key instead.`);
    }
    this.requireServiceAccount(project, old.serviceAccount, (message) => adminConflict(message));
    const overlapInMs = request.overlapInSeconds * 1000;
    const schedule = this.deps.scheduleKeyRevocation;
    if (overlapInMs > 0 && schedule === null) {
      throw invalidRequest("This deployment cannot schedule a revocation; rotate with overlapInSeconds 0.", "overlapInSeconds");
    }
    const expiresInMs = request.expiresInDays === undefined ? Math.min(MAX_API_KEY_LIFETIME_IN_MS, Math.max(DAY_IN_MS, old.expiresAtInMs - old.createdAtInMs)) : request.expiresInDays * DAY_IN_MS;
    const created = await this.deps.apiKeys.create({ project: project.id, serviceAccount: old.serviceAccount, expiresInMs });
    const fresh = created.record;
    const revokeAtInMs = this.deps.clock.nowInMs() + overlapInMs;
    const common = { serviceAccount: old.serviceAccount };
    await this.publishOrUndo(
      [
        this.event("key_created", principal, project, caller, { keyId: fresh.keyId, ...common, expiresAt: iso(fresh.expiresAtInMs), replaces: old.keyId }),
        this.event("key_rotated", principal, project, caller, { keyId: fresh.keyId, previousKeyId: old.keyId, ...common, overlapInSeconds: request.overlapInSeconds, previousRevokedAt: iso(revokeAtInMs) }),
        this.event("key_revoked", principal, project, caller, { keyId: old.keyId, ...common, revokedAt: iso(revokeAtInMs), replacedBy: fresh.keyId }),
      ],
      fresh.keyId,
    );
    const previous = overlapInMs === 0 || schedule === null ? await this.deps.apiKeys.revoke(old.keyId) : await schedule(old.keyId, revokeAtInMs);
    this.deps.logger.info("api key rotated", { project: project.id, keyId: fresh.keyId, previousKeyId: old.keyId, overlapInSeconds: request.overlapInSeconds, actor: principal.id, requestId: caller.requestId });
    return { object: "api_key.rotated", apiKey: created.apiKey, record: this.view(fresh), previous: this.view(previous ?? { ...old, revokedAtInMs: revokeAtInMs }) };
  }

  /**
   * POST /credentials/{id}/rotate `{ overlapInSeconds? }`: rotates a managed upstream credential now
   * (forced), through the CredentialRotator. The request is recorded before the rotation starts; the
   * rotator records each of its steps itself.
   */
  async rotateCredential(caller: AdminCaller, credentialId: string, body: unknown): Promise<CredentialRotationView> {
    const principal = await this.authenticate(caller);
    // Whoever administers nothing learns nothing about which credentials exist.
    if (this.administered(principal).length === 0) throw adminRoleRequired("You are not an owner or admin of any project.");
    const request = parseAdminBody(rotateCredentialRequestSchema, body);
    const credentials = this.deps.credentials;
    const credential = credentials === null ? null : await credentials.describe(credentialId);
    if (credentials === null || credential === null) {
      throw adminNotFound(`"${quoted(credentialId)}" is not a managed credential in Key Vault. List them with \`palisade credentials report\`.`);
    }
    const project = this.projectAdministeredBy(principal, credential.project);
    await this.publish([
      this.event("key_rotated", principal, project, caller, {
        credentialId: credential.id,
        issuer: credential.issuer,
        trigger: "admin_api",
        overlapInSeconds: request.overlapInSeconds ?? null,
      }, "rotation_requested"),
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
      drainEndsAt: outcome.drainEndsAtInMs === undefined ? null : iso(outcome.drainEndsAtInMs),
      reason: outcome.reason ?? null,
    };
  }

  private async authenticate(caller: AdminCaller): Promise<UserPrincipal> {
    const principal = await this.deps.authenticator.authenticate(caller.authorization, caller.apiKey);
    if (principal.kind === "service-account") throw adminRoleRequired("API keys cannot use the admin API.");
    return principal;
  }

  private administered(principal: UserPrincipal): { project: ProjectPolicy; role: Role }[] {
    return this.deps.policy.projects.flatMap((project) => {
      const role = principal.roles[project.id];
      return role !== undefined && ADMIN_ROLES.includes(role) ? [{ project, role }] : [];
    });
  }

  private async requireAdmin(caller: AdminCaller, projectId: string): Promise<{ principal: UserPrincipal; project: ProjectPolicy }> {
    const principal = await this.authenticate(caller);
    return { principal, project: this.projectAdministeredBy(principal, projectId) };
  }

  private projectAdministeredBy(principal: UserPrincipal, projectId: string): ProjectPolicy {
    const project = this.deps.policy.projects.find((candidate) => candidate.id === projectId);
    const role = principal.roles[projectId];
    // An unknown project and a project the caller is not in get the same answer.
    if (project === undefined || role === undefined) throw notAdministered(quoted(projectId));
    if (!ADMIN_ROLES.includes(role)) throw adminRoleRequired(`Your role in project "${project.id}" is ${role}.`);
    return project;
  }

  private requireServiceAccount(project: ProjectPolicy, serviceAccount: string, refuse: (message: string) => PalisadeError): void {
    const declared = this.deps.policy.serviceAccounts.some((account) => account.id === serviceAccount && account.project === project.id);
    if (!declared) {
      throw refuse(`Service account "${serviceAccount}" is not declared for project "${project.id}" in the policy file. Declare it under serviceAccounts there first; the admin API does not change the policy.`);
    }
  }

  private async projectKey(project: ProjectPolicy, keyId: string): Promise<ApiKeyRecord> {
    const record = KEY_ID.test(keyId) ? await this.deps.apiKeys.get(keyId) : null;
    // A key of another project is answered like a key that does not exist.
    if (record === null || record.project !== project.id) throw this.keyNotFound(project, keyId);
    return record;
  }

  private keyNotFound(project: ProjectPolicy, keyId: string): PalisadeError {
    return adminNotFound(`Project "${project.id}" has no API key "${quoted(keyId)}". List its keys with GET .../projects/${project.id}/keys.`);
  }

  private view(record: ApiKeyRecord): ApiKeyView {
    return apiKeyView(record, this.deps.apiKeys.status(record));
  }

  private event(
    type: AuditEventType,
    principal: UserPrincipal,
    project: ProjectPolicy,
    caller: AdminCaller,
    details: Readonly<Record<string, string | number | boolean | null>>,
    reason?: string,
  ): AuditEvent {
    return this.deps.events.create({
      type,
      actor: actorOf(principal),
      project: project.id,
      environment: project.environment,
      status: "success",
      requestId: caller.requestId,
      ...(reason === undefined ? {} : { reason }),
      details: { ...details, actor: principal.id },
    });
  }

  private async publish(events: readonly AuditEvent[]): Promise<void> {
    try {
      await this.deps.audit.publish(events);
    } catch (error) {
      this.deps.logger.warn("admin action refused: audit trail unavailable", { events: events.length, types: events.map((event) => event.type) });
      throw adminAuditUnavailable(error);
    }
  }

  /** Publishes, or revokes the key just created so that no unaudited key exists, and answers 503. */
  private async publishOrUndo(events: readonly AuditEvent[], createdKeyId: string): Promise<void> {
    try {
      await this.publish(events);
    } catch (error) {
      await this.deps.apiKeys.revoke(createdKeyId).catch(() => {
        this.deps.logger.error("could not revoke an API key whose creation was not audited", { keyId: createdKeyId, alert: true });
      });
      throw error;
    }
  }
}
