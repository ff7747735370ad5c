import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";
import { registerCredential } from "../../src/core/rotation/registerCredential.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { type RunningJwksServer, startJwksServer } from "../support/jwks.js";
import { UPSTREAMS, type UpstreamName, integrationPolicy } from "./policyFixture.js";

let jwks: RunningJwksServer;
let gateway: GatewayStack<UpstreamName>;
const tokens: Record<"owner" | "member" | "reader", string> = { owner: "", member: "", reader: "" };

interface KeyRow {
  readonly id: string;
  readonly status: string;
  readonly revokedAt: string | null;
  readonly [field: string]: unknown;
}

/** The fields these tests read; each answer has only some of them. */
interface AnswerBody {
  readonly apiKey: string;
  readonly record: KeyRow;
  readonly previous: KeyRow;
  readonly status: string;
  readonly data: readonly Record<string, unknown>[];
  readonly error: { readonly code: string; readonly param: string | null };
  readonly [field: string]: unknown;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: AnswerBody;
}

async function call(method: string, path: string, credential: string | null, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (credential !== null) headers.authorization = `Bearer ${credential}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${gateway.host.url}/manage${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text === "" ? {} : JSON.parse(text)) as AnswerBody };
}

const ask = (apiKey: string) =>
  new OpenAI({ baseURL: gateway.baseUrl, apiKey, maxRetries: 0, timeout: 15_000 }).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] });

async function refusal(promise: Promise<unknown>): Promise<string | null | undefined> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(APIError);
  return (error as APIError).code;
}

async function chain(chainId: string): Promise<AuditEvent[]> {
  const { getAppServices } = await import("../../src/composition/appServices.js");
  const services = await getAppServices();
  const events: AuditEvent[] = [];
  for await (const event of queryAuditEvents(services.audit.ledger, { chainId })) events.push(event);
  return events;
}

async function waitForEvents(chainId: string, accept: (events: AuditEvent[]) => boolean, timeoutInMs = 20_000): Promise<AuditEvent[]> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const events = await chain(chainId);
    if (accept(events) || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  jwks = await startJwksServer();
  gateway = await startGatewayStack({
    upstreams: UPSTREAMS,
    policy: (urls) => {
      const policy = integrationPolicy(urls, jwks.entra);
      return { ...policy, members: [...(policy.members ?? []), { principal: "member@example.com", roles: { acme: "member" } }] };
    },
    runServiceBusTriggers: true,
  });
  tokens.owner = await jwks.sign({ upn: "owner@example.com", oid: "00000000-0000-0000-0000-0000000000aa" });
  tokens.member = await jwks.sign({ upn: "member@example.com", oid: "00000000-0000-0000-0000-0000000000bb" });
  tokens.reader = await jwks.sign({ upn: "reader@example.com", oid: "00000000-0000-0000-0000-0000000000cc" });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await jwks?.stop();
});

describe("the admin API over HTTP, with Entra ID tokens", () => {
  it("shows an owner the projects, members and service accounts the policy file declares", async () => {
    const projects = await call("GET", "/projects", tokens.owner);
    expect(projects.status).toBe(200);
    expect(projects.body.data).toEqual([{ object: "project", id: "acme", environment: "dev", residency: "eu", models: [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }], role: "owner" }]);
    const members = await call("GET", "/projects/acme/members", tokens.owner);
    expect(members.body.data.map((member) => `${String(member.principal)}:${String(member.role)}`)).toEqual([
      "owner@example.com:owner",
      "reader@example.com:reader",
      "member@example.com:member",
    ]);
    const accounts = await call("GET", "/projects/acme/service-accounts", tokens.owner);
    expect(accounts.body.data.map((account) => account.id)).toEqual(["app", "lister", "remote"]);
  });

  it("creates, lists, rotates and revokes a key, and the gateway honours each step at once", async () => {
    const created = await call("POST", "/projects/acme/keys", tokens.owner, { serviceAccount: "app", expiresInDays: 30 });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const firstKey = created.body.apiKey;
    const firstId = created.body.record.id;
    expect(firstKey).toMatch(/^pal_[a-z2-7]{16}_[a-z2-7]{52}$/);
    expect((await ask(firstKey)).choices[0]?.message.content).toContain("mock completion");

    const listed = await call("GET", "/projects/acme/keys", tokens.owner);
    expect(listed.status).toBe(200);
    const row = listed.body.data.find((key) => key.id === firstId) ?? {};
    expect(row).toMatchObject({ prefix: `pal_${firstId}_`, serviceAccount: "app", status: "active", revokedAt: null });
    expect(Object.keys(row).sort()).toEqual(["createdAt", "expiresAt", "id", "object", "prefix", "project", "revokedAt", "serviceAccount", "status"]);
    expect(JSON.stringify(listed.body)).not.toContain(firstKey.split("_")[2]);

    const rotated = await call("POST", `/projects/acme/keys/${firstId}/rotate`, tokens.owner);
    expect(rotated.status).toBe(201);
    const secondKey = rotated.body.apiKey;
    const secondId = rotated.body.record.id;
    expect(rotated.body.previous).toMatchObject({ id: firstId, status: "revoked" });
    expect((await ask(secondKey)).choices[0]?.message.content).toContain("mock completion");
    expect(await refusal(ask(firstKey))).toBe("revoked_api_key");

    const revoked = await call("DELETE", `/projects/acme/keys/${secondId}`, tokens.owner);
    expect([revoked.status, revoked.body.status]).toEqual([200, "revoked"]);
    expect(await refusal(ask(secondKey))).toBe("revoked_api_key");

    // Every change is in the project's audit chain, with who did it, and without any secret.
    const wanted = (events: AuditEvent[]) => events.filter((event) => event.actor.kind === "user" && event.type.startsWith("key_"));
    const events = wanted(await waitForEvents("acme", (all) => wanted(all).length >= 5));
    expect(events.map((event) => [event.type, event.details?.keyId])).toEqual([
      ["key_created", firstId],
      ["key_created", secondId],
      ["key_rotated", secondId],
      ["key_revoked", firstId],
      ["key_revoked", secondId],
    ]);
    expect(events.every((event) => event.details?.actor === "00000000-0000-0000-0000-0000000000aa" && event.details.serviceAccount === "app")).toBe(true);
    const serialized = JSON.stringify(events);
    expect(serialized).not.toContain(firstKey.split("_")[2]);
    expect(serialized).not.toContain(secondKey.split("_")[2]);
  }, 60_000);

  it("rotates with an overlap: the old key keeps working until it ends", async () => {
    const created = await call("POST", "/projects/acme/keys", tokens.owner, { serviceAccount: "app", expiresInDays: 1 });
    const rotated = await call("POST", `/projects/acme/keys/${created.body.record.id}/rotate`, tokens.owner, { overlapInSeconds: 3600 });
    expect(rotated.status).toBe(201);
    expect(rotated.body.previous.status).toBe("active");
    expect(Date.parse(rotated.body.previous.revokedAt ?? "") - Date.now()).toBeGreaterThan(3500_000);
    expect((await ask(created.body.apiKey)).choices[0]?.message.content).toContain("mock completion");
    expect((await ask(rotated.body.apiKey)).choices[0]?.message.content).toContain("mock completion");
  });

  it("refuses members, readers and API keys with 403 insufficient_role, and no credentials with 401", async () => {
    const apiKey = await gateway.createKey("acme", "app");
    for (const credential of [tokens.member, tokens.reader, apiKey]) {
      for (const [method, path, body] of [
        ["GET", "/projects", undefined],
        ["GET", "/projects/acme/keys", undefined],
        ["POST", "/projects/acme/keys", { serviceAccount: "app", expiresInDays: 1 }],
        ["POST", "/credentials/anything/rotate", undefined],
      ] as const) {
        const answer = await call(method, path, credential, body);
        expect([answer.status, answer.body.error.code, answer.headers.get("x-ms-error-code")], `${method} ${path}`).toEqual([403, "insufficient_role", "insufficient_role"]);
      }
    }
    const anonymous = await call("GET", "/projects/acme/keys", null);
    expect([anonymous.status, anonymous.body.error.code]).toEqual([401, "missing_api_key"]);
  });

  it("answers 404 for a key of another project, and 400 naming the field for a bad body", async () => {
    const otherKey = await gateway.createKey("other", "other-app");
    const otherId = otherKey.split("_")[1] ?? "";
    const notHere = await call("DELETE", `/projects/acme/keys/${otherId}`, tokens.owner);
    expect([notHere.status, notHere.body.error.code]).toEqual([404, "not_found"]);
    expect((await ask(otherKey)).choices[0]?.message.content).toContain("mock completion");
    const bad = await call("POST", "/projects/acme/keys", tokens.owner, { serviceAccount: "app", expiresInDays: 99999 });
    expect([bad.status, bad.body.error.param]).toEqual([400, "expiresInDays"]);
  });

  it("rotates a managed credential now through the CredentialRotator", async () => {
    const { getRotationServices } = await import("../../src/composition/rotation.js");
    const rotation = await getRotationServices();
    if (rotation.secrets === null) throw new Error("the local stack has a Key Vault");
    await registerCredential(
      { secrets: rotation.secrets, issuer: rotation.issuers.palisade ?? null, audit: rotation.audit, clock: rotation.clock, newId: rotation.newId, policyVersion: rotation.policyVersion },
      { credential: { id: "acme-app-key", issuer: "palisade", project: "acme", environment: "dev", target: "app", deployment: null, rotationPeriodInDays: 30, overlapInMs: 0 } },
    );
    const unknown = await call("POST", "/credentials/no-such-credential/rotate", tokens.owner);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, "not_found"]);
    const rotated = await call("POST", "/credentials/acme-app-key/rotate", tokens.owner, { overlapInSeconds: 0 });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ object: "credential.rotation", credentialId: "acme-app-key", project: "acme", status: "completed" });
    const requested = await waitForEvents("acme", (events) => events.some((event) => event.reason === "rotation_requested"));
    expect(requested.find((event) => event.reason === "rotation_requested")?.details).toMatchObject({ credentialId: "acme-app-key", actor: "00000000-0000-0000-0000-0000000000aa" });
  }, 60_000);
});
