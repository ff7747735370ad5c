import { type ApiKeyService, MAX_API_KEY_LIFETIME_IN_MS } from "../auth/ApiKeyService.js";
import { type ApiKeyRecord } from "../auth/ApiKeyStore.js";
import { type Clock } from "../clock.js";
import { type PalisadeError, invalidRequest } from "../errors.js";
import { type Logger } from "../logger.js";
import { type Policy, type ProjectPolicy } from "../policy/schema.js";
import { type AdminAccess, type AdminCaller, quoted } from "./AdminAccess.js";
import { type AdminAuditTrail } from "./AdminAuditTrail.js";
import { adminConflict, adminNotFound } from "./adminErrors.js";
import { createKeyRequestSchema, parseAdminBody, rotateKeyRequestSchema } from "./adminRequests.js";
import { type ApiKeyView, type ListView, apiKeyView, listView } from "./adminViews.js";

/** Stores a revocation that takes effect at `atInMs` (a rotation overlap); null when there is no such key. */
export type ScheduleKeyRevocation = (keyId: string, atInMs: number) => Promise<ApiKeyRecord | null>;

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

export interface ApiKeyAdministrationDeps {
  readonly access: AdminAccess;
  readonly trail: AdminAuditTrail;
  readonly apiKeys: Pick<ApiKeyService, "create" | "get" | "list" | "revoke" | "status">;
  /** Null: rotations with an overlap are refused (the old key can only be revoked at once). */
  readonly scheduleKeyRevocation: ScheduleKeyRevocation | null;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly logger: Logger;
}

const DAY_IN_MS = 86_400_000;
const KEY_ID = /^[a-z2-7]{16}$/;
const iso = (inMs: number): string => new Date(inMs).toISOString();

/** A project's API keys: list, create, revoke, rotate — each change audited before it takes effect. */
export class ApiKeyAdministration {
  constructor(private readonly deps: ApiKeyAdministrationDeps) {}

  /** GET /projects/{project}/keys: newest first; never a secret or a hash. */
  async listKeys(caller: AdminCaller, projectId: string): Promise<ListView<ApiKeyView>> {
    const { project } = await this.deps.access.requireAdmin(caller, projectId);
    const records: ApiKeyRecord[] = [];
    for await (const record of this.deps.apiKeys.list({ project: project.id })) {
      if (record.project === project.id) records.push(record);
    }
    records.sort((a, b) => b.createdAtInMs - a.createdAtInMs || a.keyId.localeCompare(b.keyId));
    return listView(records.map((record) => this.view(record)));
  }

  /** POST /projects/{project}/keys `{ serviceAccount, expiresInDays }`. */
  async createKey(caller: AdminCaller, projectId: string, body: unknown): Promise<CreatedKeyView> {
    const { principal, project } = await this.deps.access.requireAdmin(caller, projectId);
    const request = parseAdminBody(createKeyRequestSchema, body);
    this.requireServiceAccount(project, request.serviceAccount, (message) => invalidRequest(message, "serviceAccount"));
    const created = await this.deps.apiKeys.create({ project: project.id, serviceAccount: request.serviceAccount, expiresInMs: request.expiresInDays * DAY_IN_MS });
    const { record } = created;
    const { trail } = this.deps;
    await trail.publishOrUndo([trail.event("key_created", principal, project, caller, { keyId: record.keyId, serviceAccount: record.serviceAccount, expiresAt: iso(record.expiresAtInMs) })], record.keyId);
    this.deps.logger.info("api key created", { project: project.id, keyId: record.keyId, serviceAccount: record.serviceAccount, actor: principal.id, requestId: caller.requestId });
    return { object: "api_key.created", apiKey: created.apiKey, record: this.view(record) };
  }

  /** DELETE /projects/{project}/keys/{keyId}: revokes at once; a key already revoked is answered as it is. */
  async revokeKey(caller: AdminCaller, projectId: string, keyId: string): Promise<ApiKeyView> {
    const { principal, project } = await this.deps.access.requireAdmin(caller, projectId);
    const record = await this.projectKey(project, keyId);
    const nowInMs = this.deps.clock.nowInMs();
    if (record.revokedAtInMs !== null && record.revokedAtInMs <= nowInMs) return this.view(record);
    if (record.revokedAtInMs !== null) {
      // The key store keeps the first revocation time, so a scheduled revocation cannot be brought forward.
      throw adminConflict(
        `API key ${record.keyId} is already scheduled to be revoked at ${iso(record.revokedAtInMs)} (the end of a rotation overlap), and that time cannot be brought forward. If the key is compromised, ask an operator to disable its service account in the policy file.`,
      );
    }
    const { trail } = this.deps;
    await trail.publish([trail.event("key_revoked", principal, project, caller, { keyId: record.keyId, serviceAccount: record.serviceAccount, revokedAt: iso(nowInMs) })]);
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
    const { principal, project } = await this.deps.access.requireAdmin(caller, projectId);
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
    const { trail } = this.deps;
    await trail.publishOrUndo(
      [
        trail.event("key_created", principal, project, caller, { keyId: fresh.keyId, ...common, expiresAt: iso(fresh.expiresAtInMs), replaces: old.keyId }),
        trail.event("key_rotated", principal, project, caller, { keyId: fresh.keyId, previousKeyId: old.keyId, ...common, overlapInSeconds: request.overlapInSeconds, previousRevokedAt: iso(revokeAtInMs) }),
        trail.event("key_revoked", principal, project, caller, { keyId: old.keyId, ...common, revokedAt: iso(revokeAtInMs), replacedBy: fresh.keyId }),
      ],
      fresh.keyId,
    );
    const previous = overlapInMs === 0 || schedule === null ? await this.deps.apiKeys.revoke(old.keyId) : await schedule(old.keyId, revokeAtInMs);
    this.deps.logger.info("api key rotated", { project: project.id, keyId: fresh.keyId, previousKeyId: old.keyId, overlapInSeconds: request.overlapInSeconds, actor: principal.id, requestId: caller.requestId });
    return { object: "api_key.rotated", apiKey: created.apiKey, record: this.view(fresh), previous: this.view(previous ?? { ...old, revokedAtInMs: revokeAtInMs }) };
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
}
