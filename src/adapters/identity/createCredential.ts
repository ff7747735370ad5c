import { type AccessToken, type GetTokenOptions, type TokenCredential } from "@azure/identity";
import { LocalDevelopmentCredential } from "./LocalDevelopmentCredential.js";

export interface CredentialSettings {
  /** AZURE_CLIENT_ID: the user-assigned managed identity to use in Azure. */
  readonly managedIdentityClientId?: string;
  /** True for the local stack (emulators), where no Azure identity exists. */
  readonly local?: boolean;
}

/** What builds the Azure credential (replaced in tests; the default imports @azure/identity). */
export type AzureCredentialFactory = (managedIdentityClientId: string | undefined) => Promise<TokenCredential>;

export const defaultAzureCredential: AzureCredentialFactory = async (clientId) => {
  const { DefaultAzureCredential } = await import("@azure/identity");
  return clientId === undefined ? new DefaultAzureCredential() : new DefaultAzureCredential({ managedIdentityClientId: clientId });
};

/**
 * Azure's credential, built at the first token request: @azure/identity (with MSAL, some 160 modules)
 * is then imported, not when the app starts, and never on the local stack.
 */
export class DeferredAzureCredential implements TokenCredential {
  private credential: Promise<TokenCredential> | null = null;

  constructor(
    private readonly managedIdentityClientId: string | undefined,
    private readonly create: AzureCredentialFactory = defaultAzureCredential,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.credential ??= this.create(this.managedIdentityClientId).catch((error: unknown) => {
      this.credential = null;
      throw error;
    });
    return (await this.credential).getToken(scopes, options);
  }
}

/** The one credential the app's Azure clients share. */
export function createCredential(settings: CredentialSettings): TokenCredential {
  if (settings.local === true) return new LocalDevelopmentCredential();
  const clientId = settings.managedIdentityClientId?.trim();
  return new DeferredAzureCredential(clientId === undefined || clientId === "" ? undefined : clientId);
}
