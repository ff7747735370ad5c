import type { ApiKeyService } from "../../core/auth/ApiKeyService.js";
import type { Clock } from "../../core/clock.js";
import { isPalisadeError } from "../../core/errors.js";
import type { CredentialIssuer, IssuedKeyRef, MintContext, MintedCredential } from "../../core/rotation/CredentialIssuer.js";
import type { ManagedCredential } from "../../core/rotation/managedCredential.js";

/**
 * Palisade's own API keys for a service account (target = the service account id, project = the
 * credential's project): a new key is issued, both work through the overlap, then the old one is revoked.
 */
export class PalisadeApiKeyIssuer implements CredentialIssuer {
  readonly kind = "palisade" as const;

  constructor(
    private readonly apiKeys: Pick<ApiKeyService, "create" | "verify" | "revoke">,
    private readonly clock: Clock,
  ) {}

  async mint(credential: ManagedCredential, context: MintContext): Promise<MintedCredential> {
    const expiresInMs = Math.max(60_000, Math.round(context.expiresAtInMs - this.clock.nowInMs()));
    const created = await this.apiKeys.create({ project: credential.project, serviceAccount: credential.target, expiresInMs });
    return { value: created.apiKey, issuerKeyId: created.record.keyId, slot: null };
  }

  async verify(credential: ManagedCredential, value: string): Promise<boolean> {
    try {
      const record = await this.apiKeys.verify(value);
      return record.project === credential.project && record.serviceAccount === credential.target;
    } catch (error) {
      if (isPalisadeError(error) && error.status === 401) return false;
      throw error;
    }
  }

  async revoke(_credential: ManagedCredential, key: IssuedKeyRef): Promise<void> {
    await this.apiKeys.revoke(key.issuerKeyId);
  }
}
