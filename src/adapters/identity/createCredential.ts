import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { LocalDevelopmentCredential } from "./LocalDevelopmentCredential.js";

export interface CredentialSettings {
  /** AZURE_CLIENT_ID: the user-assigned managed identity to use in Azure. */
  readonly managedIdentityClientId?: string;
  /** True for the local stack (emulators), where no Azure identity exists. */
  readonly local?: boolean;
}

/** The one credential the app's Azure clients share. */
export function createCredential(settings: CredentialSettings): TokenCredential {
  if (settings.local === true) return new LocalDevelopmentCredential();
  const clientId = settings.managedIdentityClientId?.trim();
  return clientId === undefined || clientId === ""
    ? new DefaultAzureCredential()
    : new DefaultAzureCredential({ managedIdentityClientId: clientId });
}
