import { type RotateOptions, type RotationOutcome } from "../rotation/CredentialRotator.js";

/** What the admin API needs to know about a managed credential: never its value. */
export interface ManagedCredentialSummary {
  readonly id: string;
  readonly project: string;
  readonly environment: string;
  readonly issuer: string;
}

/** The rotation the admin API can trigger: the CredentialRotator, plus a look-up of whose credential it is. */
export interface CredentialRotation {
  /** The managed credential, or null when Key Vault has no managed credential by that id. */
  describe(credentialId: string, options?: { readonly abortSignal?: AbortSignal }): Promise<ManagedCredentialSummary | null>;
  rotate(credentialId: string, options?: RotateOptions): Promise<RotationOutcome>;
}
