import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { Authenticator } from "../../../src/core/auth/Authenticator.js";
import { invalidToken } from "../../../src/core/auth/authErrors.js";
import { type TokenVerifier, type VerifiedClaims } from "../../../src/core/auth/TokenVerifier.js";
import { ManualClock } from "../../../src/core/clock.js";
import { type PalisadeError, isPalisadeError } from "../../../src/core/errors.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { testPolicy } from "./policyFixture.js";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

class FakeTokenVerifier implements TokenVerifier {
  seen: string[] = [];
  constructor(private readonly claims: VerifiedClaims | null) {}
  async verify(token: string): Promise<VerifiedClaims> {
    this.seen.push(token);
    if (this.claims === null) throw invalidToken("the token's signature does not verify.");
    return this.claims;
  }
}

const claims = (overrides: Partial<VerifiedClaims> = {}): VerifiedClaims => ({
  subject: "sub-1",
  objectId: "11111111-1111-1111-1111-111111111111",
  tenantId: "t",
  names: ["olive@contoso.com"],
  displayName: "From token",
  roles: [],
  appId: null,
  expiresAtInSeconds: 0,
  ...overrides,
});

async function setup(tokens: TokenVerifier | null = null) {
  const apiKeys = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock: new ManualClock(), random: (n) => new Uint8Array(randomBytes(n)), cacheTtlInMs: 0 });
  const { apiKey, record } = await apiKeys.create({ project: "billing", serviceAccount: "billing-app", expiresInMs: 86_400_000 });
  return { authenticator: new Authenticator({ apiKeys, tokens, policy: testPolicy() }), apiKey, record };
}

async function failure(promise: Promise<unknown>): Promise<PalisadeError> {
  const error: unknown = await promise.then(() => null, (caught: unknown) => caught);
  if (!isPalisadeError(error)) throw new Error(`expected a PalisadeError, got ${String(error)}`);
  return error;
}

describe("Authenticator", () => {
  it("turns a Palisade key in Authorization: Bearer into a service-account principal", async () => {
    const { authenticator, apiKey, record } = await setup();
    await expect(authenticator.authenticate(`Bearer ${apiKey}`)).resolves.toEqual({ kind: "service-account", id: "billing-app", project: "billing", keyId: record.keyId });
    await expect(authenticator.authenticate(`bearer   ${apiKey}  `)).resolves.toMatchObject({ keyId: record.keyId });
  });

  it("accepts the key in the api-key header (Azure OpenAI clients), Authorization first when both", async () => {
    const { authenticator, apiKey, record } = await setup();
    await expect(authenticator.authenticate(undefined, apiKey)).resolves.toMatchObject({ keyId: record.keyId });
    await expect(authenticator.authenticate("", apiKey)).resolves.toMatchObject({ keyId: record.keyId });
    expect((await failure(authenticator.authenticate("Bearer pal_wrong", apiKey))).code).toBe("invalid_api_key");
    expect((await failure(authenticator.authenticate(undefined, JWT))).code).toBe("invalid_api_key");
  });

  it("answers missing_api_key, telling how to send a key, when nothing usable is sent", async () => {
    const { authenticator } = await setup();
    for (const [authorization, apiKey] of [[undefined, undefined], ["", null], ["Bearer", undefined], ["Bearer   ", undefined], ["Basic dXNlcjpwYXNz", undefined]] as const) {
      const error = await failure(authenticator.authenticate(authorization, apiKey));
      expect([error.status, error.code]).toEqual([401, "missing_api_key"]);
      expect(error.message).toContain("Authorization: Bearer pal_");
      expect(error.message).not.toContain("dXNlcjpwYXNz");
    }
  });

  it("answers invalid_api_key for keys that are not Palisade keys and not JWTs", async () => {
    const { authenticator } = await setup();
    for (const value of ["sk-proj-abc123", "pal_notakey", "a b c", "x".repeat(20_000)]) {
      const error = await failure(authenticator.authenticate(`Bearer ${value}`));
      expect(error.code).toBe("invalid_api_key");
      expect(error.message).not.toContain(value);
    }
  });

  it("refuses JWTs with invalid_token when no Entra tenant is configured", async () => {
    const { authenticator } = await setup(null);
    const error = await failure(authenticator.authenticate(`Bearer ${JWT}`));
    expect([error.status, error.code]).toEqual([401, "invalid_token"]);
    expect(error.message).toContain("entra");
  });

  it("routes JWTs to the token verifier and maps the claims to a user", async () => {
    const verifier = new FakeTokenVerifier(claims({ roles: ["search.admin"] }));
    const { authenticator } = await setup(verifier);
    const principal = await authenticator.authenticate(`Bearer ${JWT}`);
    expect(verifier.seen).toEqual([JWT]);
    expect(principal).toEqual({ kind: "user", id: "11111111-1111-1111-1111-111111111111", displayName: "Olive Owner", roles: { billing: "owner", search: "admin" } });
  });

  it("passes the verifier's 401 through", async () => {
    const { authenticator } = await setup(new FakeTokenVerifier(null));
    expect((await failure(authenticator.authenticate(`Bearer ${JWT}`))).code).toBe("invalid_token");
  });
});
