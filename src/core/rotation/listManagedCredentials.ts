import type { SecretStore } from "../secrets/SecretStore.js";
import { type CredentialVersion, type ManagedCredential, credentialOf, isManagedTags, newestFirst, toCredentialVersion } from "./managedCredential.js";

export interface ListCredentialsOptions {
  readonly abortSignal?: AbortSignal;
}

/** Names of the Key Vault secrets tagged `palisade-managed=true` (every version carries the tag). */
export async function* listManagedCredentialIds(secrets: SecretStore, options: ListCredentialsOptions = {}): AsyncIterable<string> {
  for await (const summary of secrets.listSecrets(options)) {
    if (isManagedTags(summary.tags)) yield summary.name;
  }
}

/** Every version of one credential, newest first, without values. */
export async function loadCredentialVersions(secrets: SecretStore, id: string, options: ListCredentialsOptions = {}): Promise<CredentialVersion[]> {
  const versions: CredentialVersion[] = [];
  for await (const properties of secrets.listSecretVersions(id, options)) versions.push(toCredentialVersion(properties));
  return versions.sort(newestFirst);
}

export interface ManagedCredentialEntry {
  readonly credential: ManagedCredential;
  readonly versions: readonly CredentialVersion[];
}

/** Every managed credential with its versions; secrets whose tags do not describe one are skipped. */
export async function* listManagedCredentials(secrets: SecretStore, options: ListCredentialsOptions = {}): AsyncIterable<ManagedCredentialEntry> {
  for await (const id of listManagedCredentialIds(secrets, options)) {
    const versions = await loadCredentialVersions(secrets, id, options);
    const credential = credentialOf(id, versions);
    if (credential !== null) yield { credential, versions };
  }
}
