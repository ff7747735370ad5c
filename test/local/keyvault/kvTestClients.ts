import type { AccessToken, TokenCredential } from "@azure/identity";

/** A credential that counts how often the SDK asked it for a token (after the 401 challenge). */
export class CountingCredential implements TokenCredential {
  calls = 0;
  readonly scopes: string[] = [];
  readonly tenants: (string | undefined)[] = [];
  async getToken(scopes: string | string[], options?: { tenantId?: string }): Promise<AccessToken> {
    this.calls += 1;
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    this.tenants.push(options?.tenantId);
    return { token: "local-test-token", expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}
