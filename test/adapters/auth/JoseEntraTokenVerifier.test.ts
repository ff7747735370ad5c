import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JoseEntraTokenVerifier } from "../../../src/adapters/entra/JoseEntraTokenVerifier.js";
import { ManualClock } from "../../../src/core/clock.js";
import { type PalisadeError, isPalisadeError } from "../../../src/core/errors.js";
import { type RunningJwksServer, startJwksServer } from "../../support/jwks.js";

let jwks: RunningJwksServer;
beforeAll(async () => {
  jwks = await startJwksServer();
});
afterAll(async () => {
  await jwks.stop();
});

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");

async function failure(promise: Promise<unknown>): Promise<PalisadeError> {
  const error: unknown = await promise.then(() => null, (caught: unknown) => caught);
  if (!isPalisadeError(error)) throw new Error(`expected a PalisadeError, got ${String(error)}`);
  return error;
}

async function expectRejected(verifier: JoseEntraTokenVerifier, token: string, code: string, status = 401): Promise<PalisadeError> {
  const error = await failure(verifier.verify(token));
  expect(error.code).toBe(code);
  expect(error.status).toBe(status);
  expect(error.message).not.toContain(token);
  expect(error.message).not.toContain(token.split(".")[1] ?? "###");
  return error;
}

describe("JoseEntraTokenVerifier", () => {
  it("accepts a token from the tenant and returns the claims Palisade maps", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    const token = await jwks.sign({ oid: "11111111-2222-3333-4444-555555555555", upn: "ada@contoso.com", preferred_username: "ada@contoso.com", name: "Ada", roles: ["billing.member", 42], azp: "client-app" });
    const claims = await verifier.verify(token);
    expect(claims).toMatchObject({
      subject: "subject-1",
      objectId: "11111111-2222-3333-4444-555555555555",
      names: ["ada@contoso.com"],
      displayName: "Ada",
      roles: ["billing.member"],
      appId: "client-app",
    });
    expect(claims.tenantId).toMatch(/^0000/);
  });

  it("rejects alg none", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ iss: jwks.issuer, aud: jwks.audience, sub: "x", exp: now + 600 })}.`;
    await expectRejected(verifier, token, "invalid_token");
  });

  it("rejects an HMAC token (algorithm confusion) and an algorithm outside the allowlist", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    const hmac = await new SignJWT({ sub: "x" })
      .setProtectedHeader({ alg: "HS256", kid: jwks.kid })
      .setIssuer(jwks.issuer)
      .setAudience(jwks.audience)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("a-shared-secret-of-at-least-32-bytes!!"));
    await expectRejected(verifier, hmac, "invalid_token");

    const psOnly = new JoseEntraTokenVerifier({ ...jwks.entra, algorithms: ["PS256"] });
    const error = await expectRejected(psOnly, await jwks.sign({}), "invalid_token");
    expect(error.message).toContain("algorithm");
  });

  it("rejects the wrong issuer and the wrong audience, naming which", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    const issuer = await expectRejected(verifier, await jwks.sign({}, { issuer: "https://login.microsoftonline.com/other-tenant/v2.0" }), "invalid_token");
    expect(issuer.message).toContain("issued");
    const audience = await expectRejected(verifier, await jwks.sign({}, { audience: "api://someone-else" }), "invalid_token");
    expect(audience.message).toContain("audience");
  });

  it("rejects a forged signature under a served key id, and a key not in the JWKS", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    const forged = await expectRejected(verifier, await jwks.signWithForeignKey({}, { sameKid: true }), "invalid_token");
    expect(forged.message).toContain("signature");
    const unknown = await expectRejected(verifier, await jwks.signWithForeignKey({}), "invalid_token");
    expect(unknown.message).toContain("not signed by a key");
  });

  it("rejects an expired token with expired_token and a not-yet-valid one with invalid_token", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    await expectRejected(verifier, await jwks.sign({}, { expiresInSeconds: -5 }), "expired_token");
    const early = await expectRejected(verifier, await jwks.sign({}, { notBeforeInSeconds: 120 }), "invalid_token");
    expect(early.message).toContain("not valid yet");
  });

  it("rejects a correctly signed token issued in the future (iat) beyond the clock tolerance (issue 18 item 10)", async () => {
    const verifier = new JoseEntraTokenVerifier({ ...jwks.entra, clockToleranceInSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const tomorrow = await expectRejected(verifier, await jwks.sign({}, { nowInSeconds: now + 86_400 }), "invalid_token");
    expect(tomorrow.message).toContain("issue time (iat) is in the future");
    // Within the tolerance it is clock skew, and accepted.
    await expect(verifier.verify(await jwks.sign({}, { nowInSeconds: now + 30 }))).resolves.toMatchObject({ subject: "subject-1" });
    // The injected clock decides what "now" is.
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const later = new JoseEntraTokenVerifier(jwks.entra, { clock });
    const issued = Math.floor(Date.UTC(2030, 0, 1) / 1000) + 120;
    await expectRejected(later, await jwks.sign({}, { nowInSeconds: issued }), "invalid_token");
    clock.advance(120_000);
    await expect(later.verify(await jwks.sign({}, { nowInSeconds: issued }))).resolves.toMatchObject({ subject: "subject-1" });
  });

  it("applies the clock tolerance and the injected clock", async () => {
    const tolerant = new JoseEntraTokenVerifier({ ...jwks.entra, clockToleranceInSeconds: 60 });
    await expect(tolerant.verify(await jwks.sign({}, { expiresInSeconds: -30 }))).resolves.toMatchObject({ subject: "subject-1" });
    await expectRejected(tolerant, await jwks.sign({}, { expiresInSeconds: -90 }), "expired_token");

    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const future = new JoseEntraTokenVerifier(jwks.entra, { clock });
    const token = await jwks.sign({}, { nowInSeconds: Math.floor(Date.UTC(2030, 0, 1) / 1000), expiresInSeconds: 600 });
    await expect(future.verify(token)).resolves.toMatchObject({ subject: "subject-1" });
    clock.advance(601_000);
    await expectRejected(future, token, "expired_token");
  });

  it("rejects garbage and a token without exp", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    await expectRejected(verifier, "eyJnotreally.eyJgarbage.c2lnbmF0dXJl", "invalid_token");
    const noExp = await expectRejected(verifier, await jwks.sign({}, { omitExpiration: true }), "invalid_token");
    expect(noExp.message).toContain("exp");
  });

  it("fetches the JWKS once and serves later tokens from its cache", async () => {
    const verifier = new JoseEntraTokenVerifier(jwks.entra);
    const before = jwks.requests();
    for (let i = 0; i < 3; i += 1) await verifier.verify(await jwks.sign({ n: i }));
    expect(jwks.requests() - before).toBe(1);
  });

  it("answers 503 (not 401) when the key endpoint is unreachable", async () => {
    const verifier = new JoseEntraTokenVerifier({ ...jwks.entra, jwksUri: "http://127.0.0.1:9/keys" }, { jwksTimeoutInMs: 1_000 });
    const error = await failure(verifier.verify(await jwks.sign({})));
    expect(error.status).toBe(503);
  });
});
