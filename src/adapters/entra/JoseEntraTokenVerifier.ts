import { type JWTPayload, createRemoteJWKSet, jwtVerify } from "jose";
import { PalisadeError } from "../../core/errors.js";
import { expiredToken, invalidToken } from "../../core/auth/authErrors.js";
import { type TokenVerifier, type VerifiedClaims } from "../../core/auth/TokenVerifier.js";
import { type Clock } from "../../core/clock.js";
import { type EntraPolicy } from "../../core/policy/schema.js";

export interface JoseEntraTokenVerifierOptions {
  /** Time source for exp/nbf checks (default: the system clock). */
  readonly clock?: Clock;
  /** JWKS fetch timeout (default 5 s). */
  readonly jwksTimeoutInMs?: number;
  /**
   * Minimum time between JWKS refetches triggered by an unknown `kid` (default 30 s), so tokens
   * with made-up key ids cannot make Palisade hammer the tenant's key endpoint.
   */
  readonly jwksCooldownInMs?: number;
  /** How long fetched keys are trusted before a refetch (default 10 min; Entra rolls keys with overlap). */
  readonly jwksCacheMaxAgeInMs?: number;
}

const stringClaim = (payload: JWTPayload, name: string): string | null => {
  const value = payload[name];
  return typeof value === "string" && value !== "" ? value : null;
};

function toVerifiedClaims(payload: JWTPayload): VerifiedClaims {
  const names: string[] = [];
  for (const claim of ["upn", "preferred_username", "email", "unique_name"]) {
    const value = stringClaim(payload, claim);
    if (value !== null && !names.includes(value)) names.push(value);
  }
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === "string") : [];
  const subject = stringClaim(payload, "sub");
  if (subject === null) throw invalidToken("the token has no subject (sub).");
  return {
    subject,
    objectId: stringClaim(payload, "oid"),
    tenantId: stringClaim(payload, "tid"),
    names,
    displayName: stringClaim(payload, "name"),
    roles,
    appId: stringClaim(payload, "azp") ?? stringClaim(payload, "appid"),
    expiresAtInSeconds: typeof payload.exp === "number" ? payload.exp : 0,
  };
}

function codeOf(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : "";
}

/**
 * Maps jose's errors to Palisade's 401s. Messages name the failed check, never the token or its claims.
 * A JWKS that cannot be fetched is not the caller's fault: 503.
 */
function toPalisadeError(error: unknown): PalisadeError {
  const code = codeOf(error);
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return expiredToken();
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const claim = typeof error === "object" && error !== null && "claim" in error ? String(error.claim) : "";
      if (claim === "iss") return invalidToken("the token was not issued by the configured Microsoft Entra ID tenant.");
      if (claim === "aud") return invalidToken("the token is not for this API (audience). Request a token for Palisade's application ID URI.");
      if (claim === "nbf") return invalidToken("the token is not valid yet (nbf). Check the client's clock.");
      if (claim === "iat") return invalidToken("the token's issue time (iat) is invalid.");
      return invalidToken(`the token lacks a required claim or has an invalid one (${claim || "unknown"}).`);
    }
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return invalidToken("the token's signing algorithm is not allowed.");
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return invalidToken("the token's signature does not verify.");
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return invalidToken("the token was not signed by a key of the configured tenant.");
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
      return new PalisadeError(503, "service_unavailable_error", "internal_error", "The identity provider's signing keys could not be fetched; retry shortly.", { headers: { "retry-after": "5" } });
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    case "ERR_JOSE_NOT_SUPPORTED":
      return invalidToken("the token is malformed or uses an unsupported format.");
    default:
      if (error instanceof TypeError || code === "") {
        // fetch failures surface as TypeError: the key endpoint is unreachable.
        return new PalisadeError(503, "service_unavailable_error", "internal_error", "The identity provider's signing keys could not be fetched; retry shortly.", { headers: { "retry-after": "5" } });
      }
      return invalidToken("the token could not be verified.");
  }
}

/**
 * Verifies Microsoft Entra ID access tokens with jose: signature against the tenant's JWKS (fetched
 * and cached), issuer, audience, an algorithm allowlist (never `none`, never HMAC), expiry, not-before
 * and an issue time not in the future, with the configured clock tolerance.
 */
export class JoseEntraTokenVerifier implements TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly clock: Clock | null;

  constructor(
    private readonly entra: EntraPolicy,
    options: JoseEntraTokenVerifierOptions = {},
  ) {
    this.jwks = createRemoteJWKSet(new URL(entra.jwksUri), {
      timeoutDuration: options.jwksTimeoutInMs ?? 5_000,
      cooldownDuration: options.jwksCooldownInMs ?? 30_000,
      cacheMaxAge: options.jwksCacheMaxAgeInMs ?? 600_000,
    });
    this.clock = options.clock ?? null;
  }

  async verify(token: string): Promise<VerifiedClaims> {
    let payload: JWTPayload;
    try {
      const result = await jwtVerify(token, this.jwks, {
        issuer: this.entra.issuer,
        audience: this.entra.audience,
        algorithms: [...this.entra.algorithms],
        clockTolerance: this.entra.clockToleranceInSeconds,
        requiredClaims: ["exp", "iss", "aud", "sub"],
        ...(this.clock === null ? {} : { currentDate: new Date(this.clock.nowInMs()) }),
      });
      payload = result.payload;
    } catch (error) {
      throw toPalisadeError(error);
    }
    // jose checks iat's type, and its age only when given a maximum; a token "issued" in the future
    // (beyond the tolerance) comes from a broken or forged clock, and is refused like an early nbf.
    const nowInSeconds = (this.clock?.nowInMs() ?? Date.now()) / 1000;
    if (typeof payload.iat === "number" && payload.iat > nowInSeconds + this.entra.clockToleranceInSeconds) {
      throw invalidToken("the token's issue time (iat) is in the future. Check the issuer's and the client's clocks.");
    }
    return toVerifiedClaims(payload);
  }
}
