import { createServer } from "node:http";
import { type AddressInfo } from "node:net";
import { type JWK, type JWTPayload, SignJWT, exportJWK, generateKeyPair } from "jose";
import { type EntraPolicy } from "../../src/core/policy/schema.js";

export interface SignOptions {
  /** Seconds from now; negative for an expired token (default 3600). */
  readonly expiresInSeconds?: number;
  /** Seconds from now for nbf (default: no nbf). */
  readonly notBeforeInSeconds?: number;
  readonly issuer?: string;
  readonly audience?: string | string[];
  readonly subject?: string;
  /** Override the key id in the header. */
  readonly kid?: string;
  /** Leave out `exp` (Palisade requires it). */
  readonly omitExpiration?: boolean;
  /** "now" for iat/exp/nbf, in seconds (default: the real clock). */
  readonly nowInSeconds?: number;
}

export interface RunningJwksServer {
  readonly jwksUri: string;
  readonly issuer: string;
  readonly audience: string;
  readonly kid: string;
  /** An `entra` policy section pointing at this server (RS256, 0 s tolerance). */
  readonly entra: EntraPolicy;
  /** Signs with the key the JWKS serves. `sub` defaults to "subject-1". */
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /** Signs with a key NOT in the JWKS; `sameKid` reuses the served key id (a forged signature). */
  signWithForeignKey(claims: JWTPayload, options?: SignOptions & { readonly sameKid?: boolean }): Promise<string>;
  /** How many times the JWKS was fetched. */
  requests(): number;
  stop(): Promise<void>;
}

/** A JWKS endpoint on 127.0.0.1 (free port) with a fresh RS256 key pair, standing in for Entra ID. */
export async function startJwksServer(): Promise<RunningJwksServer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const foreign = await generateKeyPair("RS256");
  const kid = "test-key-1";
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  let requestCount = 0;
  const server = createServer((request, response) => {
    if (request.url === "/discovery/v2.0/keys") {
      requestCount += 1;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const tenant = "00000000-0000-4000-8000-000000000001";
  const issuer = `https://login.microsoftonline.com/${tenant}/v2.0`;
  const audience = "api://palisade-test";
  const jwksUri = `http://127.0.0.1:${port}/discovery/v2.0/keys`;

  const build = (key: CryptoKey, keyId: string, claims: JWTPayload, options: SignOptions): Promise<string> => {
    const now = options.nowInSeconds ?? Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ tid: tenant, ...claims })
      .setProtectedHeader({ alg: "RS256", kid: options.kid ?? keyId, typ: "JWT" })
      .setIssuer(options.issuer ?? issuer)
      .setAudience(options.audience ?? audience)
      .setSubject(options.subject ?? (typeof claims.sub === "string" ? claims.sub : "subject-1"))
      .setIssuedAt(now);
    if (options.omitExpiration !== true) jwt.setExpirationTime(now + (options.expiresInSeconds ?? 3600));
    if (options.notBeforeInSeconds !== undefined) jwt.setNotBefore(now + options.notBeforeInSeconds);
    return jwt.sign(key);
  };

  return {
    jwksUri,
    issuer,
    audience,
    kid,
    entra: { issuer, audience, jwksUri, algorithms: ["RS256"], clockToleranceInSeconds: 0 },
    sign: (claims, options = {}) => build(privateKey, kid, claims, options),
    signWithForeignKey: (claims, options = {}) => build(foreign.privateKey, options.sameKid === true ? kid : "foreign-key", claims, options),
    requests: () => requestCount,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
