import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JoseEntraTokenVerifier } from "../../../src/adapters/entra/JoseEntraTokenVerifier.js";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { Authenticator } from "../../../src/core/auth/Authenticator.js";
import { authorize } from "../../../src/core/auth/authorize.js";
import { ManualClock } from "../../../src/core/clock.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { testPolicy } from "../../core/auth/policyFixture.js";
import { type RunningJwksServer, startJwksServer } from "../../support/jwks.js";

let jwks: RunningJwksServer;
beforeAll(async () => {
  jwks = await startJwksServer();
});
afterAll(async () => {
  await jwks.stop();
});

function authenticator(): Authenticator {
  const policy = testPolicy({ entra: jwks.entra });
  const apiKeys = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock: new ManualClock(), random: (n) => new Uint8Array(randomBytes(n)) });
  return new Authenticator({ apiKeys, tokens: new JoseEntraTokenVerifier(policy.entra!), policy });
}

describe("Entra ID tokens end to end (JWKS on 127.0.0.1)", () => {
  it("maps a member's token by oid and authorizes the project it names", async () => {
    const token = await jwks.sign({ oid: "11111111-1111-1111-1111-111111111111", name: "Olive" });
    const principal = await authenticator().authenticate(`Bearer ${token}`);
    expect(principal).toMatchObject({ kind: "user", displayName: "Olive Owner", roles: { billing: "owner", search: "reader" } });
    const policy = testPolicy();
    expect(authorize({ principal, policy, permission: "chat.completions", clientIp: null, requestedProject: "billing", model: "gpt-4o" }).role).toBe("owner");
    expect(() => authorize({ principal, policy, permission: "chat.completions", clientIp: null, requestedProject: "search" })).toThrow(expect.objectContaining({ code: "insufficient_role" }));
  });

  it("maps an application's app roles", async () => {
    const token = await jwks.sign({ oid: "app-sp", roles: ["search.member"], azp: "client" });
    const principal = await authenticator().authenticate(`Bearer ${token}`);
    expect(principal).toEqual({ kind: "user", id: "app-sp", roles: { search: "member" } });
  });

  it("refuses expired and foreign tokens with 401s", async () => {
    await expect(authenticator().authenticate(`Bearer ${await jwks.sign({}, { expiresInSeconds: -10 })}`)).rejects.toMatchObject({ status: 401, code: "expired_token" });
    await expect(authenticator().authenticate(`Bearer ${await jwks.signWithForeignKey({}, { sameKid: true })}`)).rejects.toMatchObject({ status: 401, code: "invalid_token" });
  });
});
