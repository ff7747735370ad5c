import { createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { type RunningJwksServer, startJwksServer } from "../support/jwks.js";
import { HARDENING_UPSTREAMS, type HardeningUpstream, MODEL, hardeningPolicy, isOpenAiError } from "./hardeningPolicy.js";

/**
 * Attacks on identity: every forged, stale or misused credential gets its documented 401/403, and
 * not one of them reaches a model (the mocks' request logs stay unchanged).
 */

let jwks: RunningJwksServer;
let gateway: GatewayStack<HardeningUpstream>;
let appKey: string;

const OWNER = { upn: "owner@example.com", oid: "00000000-0000-0000-0000-0000000000aa" };
const READER = { upn: "reader@example.com", oid: "00000000-0000-0000-0000-00000000000r" };
const OUTSIDER = { upn: "outsider@example.com", oid: "00000000-0000-0000-0000-00000000000o" };

const upstreamCalls = (): number => Object.values(gateway.mocks).reduce((sum, mock) => sum + mock.requests().length, 0);
const base64url = (value: string | Buffer): string => Buffer.from(value).toString("base64url");
const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hello" }] });

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly headers: Headers;
  readonly json: unknown;
}

async function call(headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  const json = (await response.json()) as unknown;
  return { status: response.status, code: isOpenAiError(json) ? json.error.code : undefined, headers: response.headers, json };
}

/** The refusal is the documented one, well formed, and no model was called. */
async function expectRefused(headers: Record<string, string>, status: number, code: string): Promise<Answer> {
  const before = upstreamCalls();
  const answer = await call(headers);
  expect({ status: answer.status, code: answer.code }).toEqual({ status, code });
  expect(isOpenAiError(answer.json)).toBe(true);
  expect(answer.headers.get("x-request-id")).toBeTruthy();
  expect(answer.headers.get("x-ms-error-code")).toBe(code);
  expect(upstreamCalls()).toBe(before);
  return answer;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** A token with `alg: none` and no signature, with claims that would otherwise be accepted. */
function unsignedToken(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "none", typ: "JWT", kid: jwks.kid }));
  const payload = base64url(JSON.stringify({ iss: jwks.issuer, aud: jwks.audience, sub: "subject-1", iat: now, exp: now + 3600, ...claims }));
  return `${header}.${payload}.`;
}

/** HS256 signed with the served key's public modulus as the HMAC secret (the classic key-confusion attack). */
function hmacConfusionToken(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT", kid: jwks.kid }));
  const payload = base64url(JSON.stringify({ iss: jwks.issuer, aud: jwks.audience, sub: "subject-1", iat: now, exp: now + 3600, ...claims }));
  const signature = createHmac("sha256", jwks.jwksUri).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

beforeAll(async () => {
  jwks = await startJwksServer();
  gateway = await startGatewayStack({ upstreams: HARDENING_UPSTREAMS, policy: (urls) => hardeningPolicy(urls, { entra: jwks.entra }) });
  appKey = await gateway.createKey("acme", "app");
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await jwks?.stop();
});

describe("the legitimate callers are served (so the refusals below are meaningful)", () => {
  it("a valid key and an owner's token both reach the model", async () => {
    const before = upstreamCalls();
    expect((await call(bearer(appKey))).status).toBe(200);
    expect((await call({ "api-key": appKey })).status).toBe(200);
    expect((await call(bearer(await jwks.sign(OWNER)))).status).toBe(200);
    expect(upstreamCalls()).toBe(before + 3);
  });
});

describe("API keys: forged, truncated, stale and misused keys are refused", () => {
  it("no credential, an empty bearer, or another scheme: 401 missing_api_key", async () => {
    await expectRefused({}, 401, "missing_api_key");
    await expectRefused({ authorization: "Bearer " }, 401, "missing_api_key");
    await expectRefused({ authorization: `Basic ${base64url(`user:${appKey}`)}` }, 401, "missing_api_key");
    await expectRefused({ authorization: appKey }, 401, "missing_api_key");
  });

  it("a forged key (made-up id, or the right id with a guessed secret): 401 invalid_api_key", async () => {
    const [prefix, keyId, secret = ""] = appKey.split("_");
    await expectRefused(bearer(`pal_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`), 401, "invalid_api_key");
    await expectRefused(bearer(`${prefix}_${keyId}_${randomBytes(32).toString("base64url").slice(0, secret.length)}`), 401, "invalid_api_key");
    await expectRefused(bearer(`${prefix}_${keyId}_${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`), 401, "invalid_api_key");
    await expectRefused(bearer(`${prefix}_${keyId}_${secret.toUpperCase() === secret ? secret.toLowerCase() : secret.toUpperCase()}`), 401, "invalid_api_key");
    await expectRefused({ "api-key": `${prefix}_${keyId}_${"0".repeat(secret.length)}` }, 401, "invalid_api_key");
  });

  it("a truncated or extended key: 401 invalid_api_key", async () => {
    await expectRefused(bearer(appKey.slice(0, -1)), 401, "invalid_api_key");
    await expectRefused(bearer(appKey.slice(0, Math.floor(appKey.length / 2))), 401, "invalid_api_key");
    await expectRefused(bearer(`${appKey}x`), 401, "invalid_api_key");
    await expectRefused(bearer(`${appKey}_${appKey}`), 401, "invalid_api_key");
    await expectRefused(bearer(`${appKey}\u00e9`), 401, "invalid_api_key");
    await expectRefused(bearer("pal_"), 401, "invalid_api_key");
    await expectRefused(bearer(`pal_${"a".repeat(12_000)}`), 401, "invalid_api_key");
  });

  it("a credential larger than the HTTP layer's header limit is refused before the app (431), and reaches no model", async () => {
    const before = upstreamCalls();
    const response = await fetch(`${gateway.baseUrl}/chat/completions`, { method: "POST", body, headers: { "content-type": "application/json", ...bearer(`pal_${"a".repeat(20_000)}`) } });
    await response.arrayBuffer();
    expect(response.status).toBe(431);
    expect(upstreamCalls()).toBe(before);
  });

  it("an expired key: 401 expired_api_key", async () => {
    const key = await gateway.createKey("acme", "app", 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expectRefused(bearer(key), 401, "expired_api_key");
  });

  it("a revoked key, even one used (and cached) a moment before: 401 revoked_api_key", async () => {
    const key = await gateway.createKey("acme", "app");
    expect((await call(bearer(key))).status).toBe(200);
    await gateway.revokeKey(key);
    await expectRefused(bearer(key), 401, "revoked_api_key");
    await expectRefused({ "api-key": key }, 401, "revoked_api_key");
  });

  it("another project's key, pointed at this project: 403 not_a_project_member", async () => {
    const otherKey = await gateway.createKey("other", "other-app");
    await expectRefused({ ...bearer(otherKey), "openai-project": "acme" }, 403, "not_a_project_member");
    await expectRefused({ ...bearer(otherKey), "x-palisade-project": "acme" }, 403, "not_a_project_member");
    await expectRefused({ ...bearer(appKey), "openai-project": "other" }, 403, "not_a_project_member");
  });

  it("a key of a service account that may only list models: 403 missing_permission", async () => {
    await expectRefused(bearer(await gateway.createKey("acme", "reader-app")), 403, "missing_permission");
  });

  it("a caller outside the IP allowlist cannot spoof its way in with forwarding headers: 403 ip_not_allowed", async () => {
    const key = bearer(await gateway.createKey("acme", "remote"));
    await expectRefused(key, 403, "ip_not_allowed");
    await expectRefused({ ...key, "x-forwarded-for": "10.1.2.3" }, 403, "ip_not_allowed");
    await expectRefused({ ...key, "x-forwarded-for": "10.1.2.3, 10.9.9.9" }, 403, "ip_not_allowed");
    await expectRefused({ ...key, "x-forwarded-for": "127.0.0.1, 10.1.2.3" }, 403, "ip_not_allowed");
    await expectRefused({ ...key, "x-real-ip": "10.1.2.3", forwarded: "for=10.1.2.3", "x-client-ip": "10.1.2.3" }, 403, "ip_not_allowed");
    await expectRefused({ ...key, "x-forwarded-for": "::ffff:10.1.2.3" }, 403, "ip_not_allowed");
  });
});

describe("Entra tokens: anything not signed by the tenant, for this API, now, is refused", () => {
  it("alg none and HMAC key confusion: 401 invalid_token", async () => {
    await expectRefused(bearer(unsignedToken(OWNER)), 401, "invalid_token");
    await expectRefused(bearer(`${unsignedToken(OWNER)}${base64url("x")}`), 401, "invalid_token");
    await expectRefused(bearer(hmacConfusionToken(OWNER)), 401, "invalid_token");
  });

  it("wrong issuer or audience: 401 invalid_token", async () => {
    await expectRefused(bearer(await jwks.sign(OWNER, { issuer: "https://login.microsoftonline.com/evil-tenant/v2.0" })), 401, "invalid_token");
    await expectRefused(bearer(await jwks.sign(OWNER, { audience: "api://someone-else" })), 401, "invalid_token");
    await expectRefused(bearer(await jwks.sign(OWNER, { audience: [] })), 401, "invalid_token");
  });

  it("a forged signature, a key not in the JWKS, a tampered payload, a truncated token: 401 invalid_token", async () => {
    await expectRefused(bearer(await jwks.signWithForeignKey(OWNER, { sameKid: true })), 401, "invalid_token");
    await expectRefused(bearer(await jwks.signWithForeignKey(OWNER)), 401, "invalid_token");
    const [header = "", , signature = ""] = (await jwks.sign(READER)).split(".");
    const now = Math.floor(Date.now() / 1000);
    const promoted = base64url(JSON.stringify({ tid: "00000000-0000-4000-8000-000000000001", ...OWNER, iss: jwks.issuer, aud: jwks.audience, sub: "subject-1", iat: now, exp: now + 3600 }));
    await expectRefused(bearer(`${header}.${promoted}.${signature}`), 401, "invalid_token");
    const valid = await jwks.sign(OWNER);
    await expectRefused(bearer(valid.slice(0, valid.lastIndexOf(".") + 10)), 401, "invalid_token");
    await expectRefused(bearer(valid.slice(0, valid.lastIndexOf("."))), 401, "invalid_api_key");
  });

  it("expired: 401 expired_token; not yet valid or without exp: 401 invalid_token", async () => {
    await expectRefused(bearer(await jwks.sign(OWNER, { expiresInSeconds: -5 })), 401, "expired_token");
    await expectRefused(bearer(await jwks.sign(OWNER, { notBeforeInSeconds: 600 })), 401, "invalid_token");
    await expectRefused(bearer(await jwks.sign(OWNER, { omitExpiration: true })), 401, "invalid_token");
  });

  it("a reader: 403 insufficient_role; a member of another project: 403 not_a_project_member", async () => {
    await expectRefused(bearer(await jwks.sign(READER)), 403, "insufficient_role");
    await expectRefused({ ...bearer(await jwks.sign(OUTSIDER)), "openai-project": "acme" }, 403, "not_a_project_member");
  });

  it("a flood of tokens naming unknown keys does not turn into a flood of JWKS fetches", async () => {
    const before = jwks.requests();
    for (let index = 0; index < 20; index++) {
      await expectRefused(bearer(await jwks.signWithForeignKey(OWNER, { kid: `unknown-${index}` })), 401, "invalid_token");
    }
    expect(jwks.requests() - before).toBeLessThanOrEqual(1);
  });
});
