/** What Palisade uses from a verified Microsoft Entra ID access token. */
export interface VerifiedClaims {
  /** `sub`. */
  readonly subject: string;
  /** `oid`: the user's or service principal's object id. */
  readonly objectId: string | null;
  /** `tid`. */
  readonly tenantId: string | null;
  /** Sign-in names, in order: `upn`, `preferred_username`, `email`, `unique_name` (deduplicated). */
  readonly names: readonly string[];
  /** `name`. */
  readonly displayName: string | null;
  /** `roles`: app role values assigned to the user or application. */
  readonly roles: readonly string[];
  /** `azp` or `appid`: the client application. */
  readonly appId: string | null;
  readonly expiresAtInSeconds: number;
}

/**
 * Verifies a bearer token (signature, issuer, audience, algorithm, expiry, not-before) and returns
 * its claims. Throws PalisadeError 401 `invalid_token` or `expired_token`; never echoes the token.
 */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedClaims>;
}
