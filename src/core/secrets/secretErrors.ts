/**
 * Errors a SecretStore throws. Checked by name and code, not instanceof. Messages name the secret
 * and version, never the value.
 */

export type SecretStoreErrorCode = "secret_disabled" | "secret_not_found" | "invalid_secret_name" | "secret_store_failed";

export class SecretStoreError extends Error {
  override readonly name: string = "SecretStoreError";

  constructor(
    readonly code: SecretStoreErrorCode,
    message: string,
    /** The store's HTTP status when there was one (Key Vault), else null. */
    readonly statusCode: number | null = null,
  ) {
    super(message);
  }
}

/** The version exists but is disabled: Key Vault refuses to return it (403). */
export class SecretDisabledError extends SecretStoreError {
  override readonly name: string = "SecretDisabledError";

  constructor(
    readonly secretName: string,
    readonly version: string | null,
  ) {
    super(
      "secret_disabled",
      `Secret "${secretName}"${version === null ? "" : ` version ${version}`} is disabled. Enable it, or read another version.`,
      403,
    );
  }
}

export function isSecretStoreError(value: unknown, code?: SecretStoreErrorCode): value is SecretStoreError {
  return (
    value instanceof Error &&
    (value.name === "SecretStoreError" || value.name === "SecretDisabledError") &&
    "code" in value &&
    (code === undefined || value.code === code)
  );
}

export function isSecretDisabledError(value: unknown): value is SecretDisabledError {
  return isSecretStoreError(value, "secret_disabled");
}

export const secretNotFound = (name: string, version: string): SecretStoreError =>
  new SecretStoreError("secret_not_found", `Secret "${name}" version ${version} does not exist. Check the name and version.`, 404);
