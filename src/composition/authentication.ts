import { randomBytes } from "node:crypto";
import { type TableApiKeyStore } from "../adapters/tables/TableApiKeyStore.js";
import { ApiKeyService } from "../core/auth/ApiKeyService.js";
import { Authenticator } from "../core/auth/Authenticator.js";
import { type TokenVerifier } from "../core/auth/TokenVerifier.js";
import { type Clock } from "../core/clock.js";
import { type Policy } from "../core/policy/schema.js";

/** jose (Entra ID tokens) loads only when the policy trusts an issuer; null otherwise. */
export async function loadTokenVerifier(policy: Policy, clock: Clock): Promise<TokenVerifier | null> {
  const { entra } = policy;
  if (!entra) return null;
  const { JoseEntraTokenVerifier } = await import("../adapters/entra/JoseEntraTokenVerifier.js");
  return new JoseEntraTokenVerifier(entra, { clock });
}

export interface AuthenticationDeps {
  readonly apiKeyStore: TableApiKeyStore;
  readonly tokens: TokenVerifier | null;
  readonly policy: Policy;
  readonly clock: Clock;
}

/** API keys (issued and checked against the ApiKeys table) and the authenticator of every route (keys and Entra tokens). */
export function createAuthentication({ apiKeyStore, tokens, policy, clock }: AuthenticationDeps): { apiKeys: ApiKeyService; authenticator: Authenticator } {
  const apiKeys = new ApiKeyService({ store: apiKeyStore, clock, random: (bytes) => randomBytes(bytes) });
  return { apiKeys, authenticator: new Authenticator({ apiKeys, tokens, policy }) };
}
