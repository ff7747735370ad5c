/**
 * Key Vault's bearer challenge. The SDK sends its first request without a token, reads the tenant and
 * resource from this challenge, asks its credential for a token and resends. The emulator accepts any
 * non-empty bearer token: it checks that a token is presented, not who presented it.
 */
export const EMULATOR_TENANT_ID = "00000000-0000-0000-0000-000000000000";

export const CHALLENGE_HEADER =
  `Bearer authorization="https://login.microsoftonline.com/${EMULATOR_TENANT_ID}", resource="https://vault.azure.net"`;

/** True when the Authorization header carries a non-empty bearer token. */
export function hasBearerToken(authorization: string | undefined): boolean {
  if (authorization === undefined) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match !== null;
}
