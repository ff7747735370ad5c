import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { createKeysCommand, formatSpan, parseDuration } from "../../src/cli/commands/keys.js";
import { ApiKeyService } from "../../src/core/auth/ApiKeyService.js";
import { parseApiKey } from "../../src/core/auth/apiKeyFormat.js";
import { ManualClock } from "../../src/core/clock.js";
import { AuditEventFactory } from "../../src/core/audit/AuditEventFactory.js";
import { InMemoryApiKeyStore } from "../fakes/InMemoryApiKeyStore.js";
import { RecordingAuditPublisher } from "../fakes/RecordingAuditPublisher.js";
import { testPolicy } from "../core/auth/policyFixture.js";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const DAY = 86_400_000;

function setup(options: { withPolicy?: boolean } = {}) {
  const store = new InMemoryApiKeyStore();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const service = new ApiKeyService({ store, clock, random: (n) => new Uint8Array(randomBytes(n)), cacheTtlInMs: 0 });
  const stdout = new Capture();
  const stderr = new Capture();
  const audit = new RecordingAuditPublisher();
  const published: { project: string; type: string }[] = [];
  let eventIds = 0;
  const run = async (...args: string[]): Promise<void> => {
    stdout.text = "";
    stderr.text = "";
    const command = createKeysCommand({
      getApiKeyService: async () => service,
      getAudit: async () => ({
        events: new AuditEventFactory({ clock, newEventId: () => `event-${++eventIds}`, policyVersion: "policy-v1" }),
        operator: "alice@ops-laptop",
        publish: async (project, events) => {
          await audit.publish(events);
          for (const event of events) published.push({ project, type: event.type });
        },
      }),
      ...(options.withPolicy === false ? {} : { getPolicy: async () => testPolicy() }),
      stdout,
      stderr,
      clock,
    });
    await command.parseAsync(args, { from: "user" });
  };
  const runFails = async (...args: string[]): Promise<CommanderError> => {
    const error: unknown = await run(...args).then(() => null, (caught: unknown) => caught);
    if (!(error instanceof CommanderError)) throw new Error(`expected a CommanderError, got ${String(error)}`);
    return error;
  };
  return { store, clock, service, stdout, stderr, run, runFails, audit, published };
}

describe("parseDuration / formatSpan", () => {
  it.each([["60d", 60 * DAY], ["12h", 12 * 3_600_000], ["30m", 1_800_000], [" 1d ", DAY]])("%s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it.each(["0d", "60", "1w", "-1d", "1.5d", "d", "", "01d"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });
  it("formats spans", () => {
    expect([formatSpan(3 * DAY + 5), formatSpan(5 * 3_600_000), formatSpan(59_999), formatSpan(-2 * DAY)]).toEqual(["3d", "5h", "0m", "2d"]);
  });
});

describe("palisade keys", () => {
  it("create prints the key once on stdout, warns on stderr, and the key verifies", async () => {
    const { service, stdout, stderr, run } = setup();
    await run("create", "--project", "billing", "--service-account", "billing-app", "--expires-in", "60d");
    const apiKey = stdout.text.trim();
    expect(parseApiKey(apiKey)).not.toBeNull();
    expect(stderr.text).toContain("will not be shown again");
    expect(stderr.text).not.toContain(apiKey);
    const record = await service.verify(apiKey);
    expect(record.expiresAtInMs - record.createdAtInMs).toBe(60 * DAY);
  });

  it("create --json prints the key and its metadata, never the hash", async () => {
    const { store, stdout, run } = setup();
    await run("create", "--project", "search", "--service-account", "search-app", "--expires-in", "12h", "--json");
    const body = JSON.parse(stdout.text) as Record<string, unknown>;
    expect(body).toMatchObject({ project: "search", serviceAccount: "search-app", status: "active", expiresAt: "2026-01-01T12:00:00.000Z" });
    const stored = await store.get(String(body.keyId));
    expect(stdout.text).not.toContain(stored!.secretHash);
    expect(parseApiKey(String(body.apiKey))?.keyId).toBe(body.keyId);
  });

  it("create validates the duration and the policy, without creating anything", async () => {
    const { store, stderr, runFails } = setup();
    const bad = await runFails("create", "--project", "billing", "--service-account", "billing-app", "--expires-in", "forever");
    expect(bad.exitCode).toBe(1);
    expect(stderr.text).toContain("--expires-in");
    expect((await runFails("create", "--project", "nope", "--service-account", "billing-app", "--expires-in", "1d")).exitCode).toBe(1);
    expect(stderr.text).toContain('project "nope" is not in the policy');
    await runFails("create", "--project", "search", "--service-account", "billing-app", "--expires-in", "1d");
    expect(stderr.text).toContain("declared: search-app");
    const missing = await runFails("create", "--project", "billing", "--service-account", "billing-app");
    expect(missing.code).toBe("commander.missingMandatoryOptionValue");
    expect(store.gets).toBe(0);
    const all = [];
    for await (const record of store.list()) all.push(record);
    expect(all).toEqual([]);
  });

  it("create without a policy still validates the identifiers", async () => {
    const { stderr, run, runFails } = setup({ withPolicy: false });
    await run("create", "--project", "anything", "--service-account", "whoever", "--expires-in", "1d");
    await runFails("create", "--project", "Bad Name", "--service-account", "whoever", "--expires-in", "1d");
    expect(stderr.text).toContain("project must be");
  });

  it("list shows id, prefix, project, service account, age, expiry and status; --json too; never hashes", async () => {
    const { store, clock, service, stdout, run } = setup();
    const active = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: 60 * DAY });
    clock.advance(DAY);
    const revoked = await service.create({ project: "billing", serviceAccount: "billing-lister", expiresInMs: 60 * DAY });
    await service.revoke(revoked.record.keyId);
    const expired = await service.create({ project: "search", serviceAccount: "search-app", expiresInMs: DAY });
    clock.advance(2 * DAY);

    await run("list");
    const lines = stdout.text.trim().split("\n");
    expect(lines[0]).toMatch(/^KEY ID\s+PREFIX\s+PROJECT\s+SERVICE ACCOUNT\s+AGE\s+EXPIRES\s+STATUS$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(`pal_${active.record.keyId}_…`);
    expect(lines[1]).toMatch(/billing\s+billing-app\s+3d\s+2026-03-02 00:00Z \(in 57d\)\s+active$/);
    const lineOf = (keyId: string): string => lines.find((line) => line.startsWith(keyId)) ?? "";
    expect(lineOf(revoked.record.keyId)).toMatch(/billing-lister\s+2d\s+.*revoked$/);
    expect(lineOf(expired.record.keyId)).toMatch(/search-app\s+2d\s+.*\(1d ago\)\s+expired$/);
    for (const record of [active, revoked, expired]) {
      const stored = await store.get(record.record.keyId);
      expect(stdout.text).not.toContain(stored!.secretHash);
      expect(stdout.text).not.toContain(parseApiKey(record.apiKey)!.secret);
    }

    await run("list", "--project", "search", "--json");
    const listed = JSON.parse(stdout.text) as { keyId: string; status: string }[];
    expect(listed).toEqual([expect.objectContaining({ keyId: expired.record.keyId, status: "expired", prefix: `pal_${expired.record.keyId}_…` })]);
    expect(stdout.text).not.toContain("secretHash");
  });

  it("revoke revokes (by id or pasted prefix), is idempotent, and fails for an unknown id", async () => {
    const { service, stdout, stderr, run, runFails } = setup();
    const { apiKey, record } = await service.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: DAY });
    await run("revoke", record.keyId);
    expect(stdout.text).toContain(`Revoked ${record.keyId}`);
    await expect(service.verify(apiKey)).rejects.toMatchObject({ code: "revoked_api_key" });
    await run("revoke", `pal_${record.keyId}_…`, "--json");
    expect(JSON.parse(stdout.text)).toMatchObject({ keyId: record.keyId, status: "revoked" });
    const error = await runFails("revoke", "zzzzzzzzzzzzzzzz");
    expect(error.exitCode).toBe(1);
    expect(stderr.text).toContain('no key with id "zzzzzzzzzzzzzzzz"');
  });
});

describe("palisade keys: every key change is an audit event (issue 18 item 9)", () => {
  it("create and revoke publish key_created and key_revoked on the project's chain, with the operator as actor", async () => {
    const { stdout, run, audit, published } = setup();
    await run("create", "--project", "billing", "--service-account", "billing-app", "--expires-in", "1d", "--json");
    const created = JSON.parse(stdout.text) as { keyId: string; apiKey: string };
    await run("revoke", created.keyId);
    expect(published).toEqual([
      { project: "billing", type: "key_created" },
      { project: "billing", type: "key_revoked" },
    ]);
    const [createdEvent, revokedEvent] = audit.events;
    expect(createdEvent).toMatchObject({
      type: "key_created",
      project: "billing",
      status: "success",
      actor: { kind: "user", id: "alice@ops-laptop" },
      details: { keyId: created.keyId, serviceAccount: "billing-app", actor: "alice@ops-laptop", via: "cli", expiresAt: "2026-01-02T00:00:00.000Z" },
    });
    expect(revokedEvent).toMatchObject({ type: "key_revoked", details: { keyId: created.keyId, serviceAccount: "billing-app", revokedAt: "2026-01-01T00:00:00.000Z", via: "cli" } });
    // Never the secret.
    expect(JSON.stringify(audit.events)).not.toContain(created.apiKey);
    // Revoking again changes nothing and records nothing.
    await run("revoke", created.keyId);
    expect(audit.events).toHaveLength(2);
  });

  it("a key whose creation cannot be audited is revoked again, and the command fails", async () => {
    const { service, stdout, runFails, audit } = setup();
    audit.failAlways();
    const error = await runFails("create", "--project", "billing", "--service-account", "billing-app", "--expires-in", "1d");
    expect(error.exitCode).toBe(1);
    expect(stdout.text).toBe("");
    const keys = [];
    for await (const record of service.list({ project: "billing" })) keys.push(record);
    expect(keys).toHaveLength(1);
    expect(keys[0]?.revokedAtInMs).not.toBeNull();
  });

  it("a revocation that cannot be audited is not carried out", async () => {
    const { service, stdout, run, runFails, audit } = setup();
    await run("create", "--project", "billing", "--service-account", "billing-app", "--expires-in", "1d", "--json");
    const { keyId } = JSON.parse(stdout.text) as { keyId: string };
    audit.failAlways();
    const error = await runFails("revoke", keyId);
    expect(error.exitCode).toBe(1);
    expect((await service.get(keyId))?.revokedAtInMs).toBeNull();
  });
});
