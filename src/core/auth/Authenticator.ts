import { type Policy } from "../policy/schema.js";
import { type ApiKeyService } from "./ApiKeyService.js";
import { API_KEY_PREFIX } from "./apiKeyFormat.js";
import { invalidApiKey, invalidToken, missingApiKey } from "./authErrors.js";
import { mapEntraPrincipal } from "./mapEntraPrincipal.js";
import { type Principal } from "./Principal.js";
import { type TokenVerifier } from "./TokenVerifier.js";

export interface AuthenticatorDeps {
  readonly apiKeys: ApiKeyService;
  /** Null when the policy has no `entra` section: bearer tokens other than Palisade keys are refused. */
  readonly tokens: TokenVerifier | null;
  readonly policy: Policy;
}

/** Longer than any key or Entra token we accept; refuse before hashing or parsing megabytes. */
const MAX_CREDENTIAL_LENGTH = 16_384;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Decides who is calling, from the `Authorization` header or, for Azure OpenAI clients, the `api-key`
 * header:
 * - `Authorization: Bearer pal_...` or `api-key: pal_...` is a Palisade API key;
 * - `Authorization: Bearer <JWT>` is a Microsoft Entra ID access token.
 * When both headers are sent, `Authorization` is used and `api-key` ignored.
 */
export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  async authenticate(authorization: string | null | undefined, apiKeyHeader?: string | null): Promise<Principal> {
    const credential = extractCredential(authorization, apiKeyHeader);
    if (credential.value.length > MAX_CREDENTIAL_LENGTH) throw invalidApiKey();
    if (credential.source === "api-key" || credential.value.startsWith(API_KEY_PREFIX)) {
      const record = await this.deps.apiKeys.verify(credential.value);
      return { kind: "service-account", id: record.serviceAccount, project: record.project, keyId: record.keyId };
    }
    if (!JWT_SHAPE.test(credential.value)) throw invalidApiKey();
    if (this.deps.tokens === null) {
      throw invalidToken("this gateway does not accept Microsoft Entra ID tokens (the policy has no entra section). Use a Palisade API key (pal_...).");
    }
    const claims = await this.deps.tokens.verify(credential.value);
    return mapEntraPrincipal(claims, this.deps.policy);
  }
}

interface Credential {
  readonly source: "authorization" | "api-key";
  readonly value: string;
}

function extractCredential(authorization: string | null | undefined, apiKeyHeader: string | null | undefined): Credential {
  const header = authorization?.trim() ?? "";
  if (header !== "") {
    const match = /^(\S+)(?:\s+(.*))?$/s.exec(header);
    const scheme = match?.[1] ?? "";
    const value = match?.[2]?.trim() ?? "";
    if (scheme.toLowerCase() !== "bearer") throw missingApiKey("The Authorization header must use the Bearer scheme.");
    if (value === "") throw missingApiKey("The Authorization header has no token after Bearer.");
    return { source: "authorization", value };
  }
  const apiKey = apiKeyHeader?.trim() ?? "";
  if (apiKey !== "") return { source: "api-key", value: apiKey };
  throw missingApiKey();
}
