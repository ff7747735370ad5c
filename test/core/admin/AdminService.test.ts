import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type AdminCaller, AdminService } from "../../../src/core/admin/AdminService.js";
import { type CredentialRotation, type ManagedCredentialSummary } from "../../../src/core/admin/CredentialRotation.js";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { type Principal } from "../../../src/core/auth/Principal.js";
import { ManualClock } from "../../../src/core/clock.js";
import { type PalisadeError, isPalisadeError } from "../../../src/core/errors.js";
import { AuditEventFactory } from "../../../src/core/audit/AuditEventFactory.js";
import { silentLogger } from "../../../src/core/logger.js";
import { type Policy, policySchema } from "../../../src/core/policy/schema.js";
import { type RotateOptions, type RotationOutcome } from "../../../src/core/rotation/CredentialRotator.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { RecordingAuditPublisher } from "../../fakes/RecordingAuditPublisher.js";

const DAY = 86_400_000;

const policy: Policy = policySchema.parse({
  version: 1,
  projects: [
    { id: "acme", environment: "prod", residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }] },
    { id: "other", residency: "us", models: [{ name: "gpt-4o", deployment: "gpt-4o" }] },
  ],
  members: [
    { principal: "owner@example.com", displayName: "Olive Owner", roles: { acme: "owner", other: "reader" } },
    { principal: "member@example.com", roles: { acme: "member" } },
    { principal: "other-admin@example.com", roles: { other: "admin" } },
  ],
  serviceAccounts: [
    { id: "app", project: "acme", permissions: ["chat.completions"], ipAllowlist: ["10.0.0.0/8"], limits: { requestsPerMinute: 60 } },
    { id: "other-app", project: "other", permissions: ["models.list"] },
  ],
  endpoints: [{ id: "e1", provider: "azure", baseUrl: "https://e1.example.com", region: "westeurope", residency: "eu", class: "standard", deployments: ["gpt-4o-mini", "gpt-4o"] }],
});

/** Bearer values the fake authenticator knows. */
const PRINCIPALS: Record<string, Principal> = {
  owner: { kind: "user", id: "oid-owner", roles: { acme: "owner", other: "reader" } },
  admin: { kind: "user", id: "oid-admin", roles: { acme: "admin" } },
  member: { kind: "user", id: "oid-member", roles: { acme: "member" } },
  reader: { kind: "user", id: "oid-reader", roles: { acme: "reader" } },
  otherAdmin: { kind: "user", id: "oid-other", roles: { other: "admin" } },
  key: { kind: "service-account", id: "app", project: "acme", keyId: "aaaaaaaaaaaaaaaa" },
};

class FakeCredentialRotation implements CredentialRotation {
  readonly calls: { id: string; options: RotateOptions | undefined }[] = [];
  constructor(private readonly credentials: readonly ManagedCredentialSummary[]) {}
  async describe(id: string): Promise<ManagedCredentialSummary | null> {
    return this.credentials.find((credential) => credential.id === id) ?? null;
  }
  async rotate(id: string, options?: RotateOptions): Promise<RotationOutcome> {
    this.calls.push({ id, options });
    return { credentialId: id, status: "draining", rotationId: "rot-1", step: "promoted", drainEndsAtInMs: Date.UTC(2026, 0, 2) };
  }
}

function setup(options: { schedule?: boolean } = {}) {
  const clock = new ManualClock();
  const store = new InMemoryApiKeyStore();
  const apiKeys = new ApiKeyService({ store, clock, random: (n) => new Uint8Array(randomBytes(n)), cacheTtlInMs: 0 });
  const audit = new RecordingAuditPublisher();
  const credentials = new FakeCredentialRotation([
    { id: "aoai-weu", project: "acme", environment: "prod", issuer: "azure-openai" },
    { id: "other-openai", project: "other", environment: "dev", issuer: "openai" },
  ]);
  const admin = new AdminService({
    authenticator: {
      async authenticate(authorization) {
        const principal = PRINCIPALS[(authorization ?? "").replace(/^Bearer /, "")];
        if (principal === undefined) throw new Error("unexpected credential in test");
        return principal;
      },
    },
    apiKeys,
    scheduleKeyRevocation: options.schedule === false ? null : (keyId, atInMs) => store.revoke(keyId, atInMs),
    credentials,
    policy,
    audit,
    events: new AuditEventFactory({ clock, newEventId: randomUUID, policyVersion: "test-policy" }),
    clock,
    logger: silentLogger,
  });
  return { clock, store, apiKeys, audit, credentials, admin };
}

const as = (who: keyof typeof PRINCIPALS): AdminCaller => ({ authorization: `Bearer ${who}`, apiKey: null, requestId: `req-${who}` });

async function failure(promise: Promise<unknown>): Promise<PalisadeError> {
  const error: unknown = await promise.then(() => null, (caught: unknown) => caught);
  if (!isPalisadeError(error)) throw new Error(`expected a PalisadeError, got ${String(error)}`);
  return error;
}

describe("AdminService: who may administer", () => {
  it("lists only the projects the caller is owner or admin of, with their residency and models", async () => {
    const { admin } = setup();
    const projects = await admin.listProjects(as("owner"));
    expect(projects).toEqual({
      object: "list",
      data: [{ object: "project", id: "acme", environment: "prod", residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }], role: "owner" }],
    });
    expect((await admin.listProjects(as("otherAdmin"))).data.map((project) => project.id)).toEqual(["other"]);
  });

  it.each(["member", "reader", "key"] as const)("refuses a %s with 403 insufficient_role on every route", async (who) => {
    const { admin } = setup();
    const calls: Promise<unknown>[] = [
      admin.listProjects(as(who)),
      admin.listMembers(as(who), "acme"),
      admin.listServiceAccounts(as(who), "acme"),
      admin.listKeys(as(who), "acme"),
      admin.createKey(as(who), "acme", { serviceAccount: "app", expiresInDays: 30 }),
      admin.revokeKey(as(who), "acme", "aaaaaaaaaaaaaaaa"),
      admin.rotateKey(as(who), "acme", "aaaaaaaaaaaaaaaa", {}),
      admin.rotateCredential(as(who), "aoai-weu", {}),
    ];
    for (const call of calls) {
      const error = await failure(call);
      expect([error.status, error.code]).toEqual([403, "insufficient_role"]);
    }
  });

  it("answers a project the caller is not in exactly like a project that does not exist", async () => {
    const { admin } = setup();
    const notMine = await failure(admin.listKeys(as("otherAdmin"), "acme"));
    const unknown = await failure(admin.listKeys(as("otherAdmin"), "nope"));
    expect([notMine.status, notMine.code, unknown.status, unknown.code]).toEqual([403, "not_a_project_member", 403, "not_a_project_member"]);
    // A reader in one project is not an admin of it, even if admin elsewhere.
    expect((await failure(admin.listKeys(as("owner"), "other"))).code).toBe("insufficient_role");
  });

  it("lists the policy's members and service accounts of a project, read-only", async () => {
    const { admin } = setup();
    expect((await admin.listMembers(as("admin"), "acme")).data).toEqual([
      { object: "project.member", principal: "owner@example.com", displayName: "Olive Owner", role: "owner" },
      { object: "project.member", principal: "member@example.com", displayName: null, role: "member" },
    ]);
    expect((await admin.listServiceAccounts(as("admin"), "acme")).data).toEqual([
      { object: "project.service_account", id: "app", permissions: ["chat.completions"], ipAllowlist: ["10.0.0.0/8"], limits: { requestsPerMinute: 60, tokensPerMinute: null } },
    ]);
  });
});

describe("AdminService: keys", () => {
  it("creates a key shown once, lists it without secret or hash, and records key_created", async () => {
    const { admin, apiKeys, audit, store } = setup();
    const created = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    expect(created.apiKey).toMatch(/^pal_[a-z2-7]{16}_[a-z2-7]{52}$/);
    expect(created.record).toMatchObject({ object: "api_key", project: "acme", serviceAccount: "app", status: "active", revokedAt: null, expiresAt: "2026-01-31T00:00:00.000Z" });
    expect(created.record.prefix).toBe(`pal_${created.record.id}_`);
    await expect(apiKeys.verify(created.apiKey)).resolves.toMatchObject({ keyId: created.record.id });

    const listed = await admin.listKeys(as("admin"), "acme");
    expect(listed.data).toEqual([created.record]);
    const secret = created.apiKey.split("_")[2] ?? "";
    const hash = (await store.get(created.record.id))?.secretHash ?? "";
    for (const text of [JSON.stringify(listed), JSON.stringify(created.record), JSON.stringify(audit.events)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hash);
    }

    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({
      type: "key_created",
      project: "acme",
      environment: "prod",
      status: "success",
      actor: { kind: "user", id: "oid-owner" },
      requestId: "req-owner",
      details: { keyId: created.record.id, serviceAccount: "app", actor: "oid-owner" },
    });
  });

  it("refuses a service account the policy does not declare for the project, and bad bodies, with 400 naming the field", async () => {
    const { admin, audit } = setup();
    const undeclared = await failure(admin.createKey(as("owner"), "acme", { serviceAccount: "other-app", expiresInDays: 30 }));
    expect([undeclared.status, undeclared.param]).toEqual([400, "serviceAccount"]);
    expect(undeclared.message).toContain("policy file");
    expect((await failure(admin.createKey(as("owner"), "acme", { serviceAccount: "app" }))).param).toBe("expiresInDays");
    expect((await failure(admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 0 }))).param).toBe("expiresInDays");
    expect((await failure(admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 1, project: "other" }))).param).toBe("project");
    expect(audit.events).toEqual([]);
  });

  it("when key_created cannot be published: 503 audit_unavailable, and the new key is revoked so nothing unaudited works", async () => {
    const { admin, audit, store } = setup();
    audit.failAlways();
    const error = await failure(admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 }));
    expect([error.status, error.code]).toEqual([503, "audit_unavailable"]);
    const records = [];
    for await (const record of store.list({ project: "acme" })) records.push(record);
    expect(records).toHaveLength(1);
    expect(records[0]?.revokedAtInMs).not.toBeNull();
  });

  it("revokes a key of the project (idempotent), 404 for a key of another project, and records key_revoked", async () => {
    const { admin, apiKeys, audit } = setup();
    const created = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    const otherKey = await apiKeys.create({ project: "other", serviceAccount: "other-app", expiresInMs: DAY });
    const wrongProject = await failure(admin.revokeKey(as("owner"), "acme", otherKey.record.keyId));
    expect([wrongProject.status, wrongProject.code]).toEqual([404, "not_found"]);
    expect((await failure(admin.revokeKey(as("owner"), "acme", "not-a-key-id"))).status).toBe(404);

    audit.clear();
    const revoked = await admin.revokeKey(as("admin"), "acme", created.record.id);
    expect(revoked).toMatchObject({ id: created.record.id, status: "revoked", revokedAt: "2026-01-01T00:00:00.000Z" });
    await expect(apiKeys.verify(created.apiKey)).rejects.toMatchObject({ code: "revoked_api_key" });
    expect(audit.events.map((event) => [event.type, event.details?.keyId, event.details?.actor])).toEqual([["key_revoked", created.record.id, "oid-admin"]]);

    await expect(admin.revokeKey(as("admin"), "acme", created.record.id)).resolves.toMatchObject({ status: "revoked" });
    expect(audit.events).toHaveLength(1);
    await expect(apiKeys.verify(otherKey.apiKey)).resolves.toMatchObject({ project: "other" });
  });

  it("does not revoke when key_revoked cannot be published", async () => {
    const { admin, apiKeys, audit } = setup();
    const created = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    audit.failAlways();
    expect((await failure(admin.revokeKey(as("owner"), "acme", created.record.id))).code).toBe("audit_unavailable");
    await expect(apiKeys.verify(created.apiKey)).resolves.toMatchObject({ keyId: created.record.id });
  });

  it("rotates with overlap 0 by default: a replacement for the same service account, the old key revoked at once", async () => {
    const { admin, apiKeys, audit } = setup();
    const old = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    audit.clear();
    const rotated = await admin.rotateKey(as("owner"), "acme", old.record.id, {});
    expect(rotated.apiKey).not.toBe(old.apiKey);
    expect(rotated.record).toMatchObject({ serviceAccount: "app", status: "active", expiresAt: "2026-01-31T00:00:00.000Z" });
    expect(rotated.previous).toMatchObject({ id: old.record.id, status: "revoked" });
    await expect(apiKeys.verify(rotated.apiKey)).resolves.toMatchObject({ serviceAccount: "app" });
    await expect(apiKeys.verify(old.apiKey)).rejects.toMatchObject({ code: "revoked_api_key" });
    expect(audit.events.map((event) => event.type)).toEqual(["key_created", "key_rotated", "key_revoked"]);
    expect(audit.events[1]?.details).toMatchObject({ keyId: rotated.record.id, previousKeyId: old.record.id, serviceAccount: "app", overlapInSeconds: 0, actor: "oid-owner" });
    expect(JSON.stringify(audit.events)).not.toContain(rotated.apiKey.split("_")[2] ?? "");
    // A revoked key cannot be rotated again.
    expect((await failure(admin.rotateKey(as("owner"), "acme", old.record.id, {}))).status).toBe(409);
  });

  it("rotates with an overlap: both keys work until it ends, then only the new one", async () => {
    const { admin, apiKeys, clock } = setup();
    const old = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    const rotated = await admin.rotateKey(as("owner"), "acme", old.record.id, { overlapInSeconds: 3600, expiresInDays: 7 });
    expect(rotated.record.expiresAt).toBe("2026-01-08T00:00:00.000Z");
    expect(rotated.previous).toMatchObject({ status: "active", revokedAt: "2026-01-01T01:00:00.000Z" });
    await expect(apiKeys.verify(old.apiKey)).resolves.toMatchObject({ keyId: old.record.id });
    clock.advance(3600_000);
    await expect(apiKeys.verify(old.apiKey)).rejects.toMatchObject({ code: "revoked_api_key" });
    await expect(apiKeys.verify(rotated.apiKey)).resolves.toMatchObject({ keyId: rotated.record.id });
  });

  it("refuses to revoke early a key whose revocation is scheduled (the store keeps the first time)", async () => {
    const { admin } = setup();
    const old = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    await admin.rotateKey(as("owner"), "acme", old.record.id, { overlapInSeconds: 600 });
    const error = await failure(admin.revokeKey(as("owner"), "acme", old.record.id));
    expect([error.status, error.message]).toEqual([409, expect.stringContaining("2026-01-01T00:10:00.000Z")]);
  });

  it("refuses an overlap when no revocation can be scheduled", async () => {
    const { admin } = setup({ schedule: false });
    const old = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    expect((await failure(admin.rotateKey(as("owner"), "acme", old.record.id, { overlapInSeconds: 60 }))).param).toBe("overlapInSeconds");
  });

  it("when the rotation cannot be audited: 503, the old key keeps working and the replacement does not", async () => {
    const { admin, apiKeys, audit, store } = setup();
    const old = await admin.createKey(as("owner"), "acme", { serviceAccount: "app", expiresInDays: 30 });
    audit.failAlways();
    expect((await failure(admin.rotateKey(as("owner"), "acme", old.record.id, {}))).code).toBe("audit_unavailable");
    await expect(apiKeys.verify(old.apiKey)).resolves.toMatchObject({ keyId: old.record.id });
    const others = [];
    for await (const record of store.list({ project: "acme" })) if (record.keyId !== old.record.id) others.push(record);
    expect(others).toHaveLength(1);
    expect(others[0]?.revokedAtInMs).not.toBeNull();
  });
});

describe("AdminService: managed credentials", () => {
  it("rotates a credential of a project the caller administers, forced, after recording who asked", async () => {
    const { admin, audit, credentials } = setup();
    const result = await admin.rotateCredential(as("admin"), "aoai-weu", { overlapInSeconds: 900 });
    expect(result).toEqual({
      object: "credential.rotation",
      credentialId: "aoai-weu",
      project: "acme",
      status: "draining",
      rotationId: "rot-1",
      step: "promoted",
      drainEndsAt: "2026-01-02T00:00:00.000Z",
      reason: null,
    });
    expect(credentials.calls).toEqual([{ id: "aoai-weu", options: { force: true, overlapInMs: 900_000 } }]);
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({ type: "key_rotated", project: "acme", reason: "rotation_requested", details: { credentialId: "aoai-weu", actor: "oid-admin" } });
  });

  it("404 for an unknown credential, 403 for another project's, and no rotation when the request cannot be audited", async () => {
    const { admin, audit, credentials } = setup();
    expect((await failure(admin.rotateCredential(as("owner"), "nope", {}))).status).toBe(404);
    expect((await failure(admin.rotateCredential(as("owner"), "other-openai", {}))).code).toBe("insufficient_role");
    expect((await failure(admin.rotateCredential(as("admin"), "other-openai", {}))).code).toBe("not_a_project_member");
    audit.failAlways();
    expect((await failure(admin.rotateCredential(as("owner"), "aoai-weu", {}))).code).toBe("audit_unavailable");
    expect(credentials.calls).toEqual([]);
  });
});
