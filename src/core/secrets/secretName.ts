import { SecretStoreError } from "./secretErrors.js";

/** Key Vault's rule for object names: 1-127 letters, digits and dashes. */
export const isValidSecretName = (name: string): boolean => /^[0-9a-zA-Z-]{1,127}$/.test(name);

export function assertValidSecretName(name: string): void {
  if (!isValidSecretName(name)) {
    throw new SecretStoreError("invalid_secret_name", "Secret names are 1-127 letters, digits and dashes. Rename the secret.", 400);
  }
}
