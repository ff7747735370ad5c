import type { IssuerKind, ManagedCredential } from "./managedCredential.js";

/** A credential as its issuer handed it out. `value` is secret: it goes to Key Vault and nowhere else. */
export interface MintedCredential {
  readonly value: string;
  /** The issuer's non-secret handle: an Azure key slot, an OpenAI service account id, a Palisade key id. */
  readonly issuerKeyId: string;
  /** Azure OpenAI's `Key1`/`Key2`; null for issuers without slots. */
  readonly slot: string | null;
}

export interface MintContext {
  /** Names the mint, so that a repeated mint for the same rotation can clean up after a crashed one. */
  readonly rotationId: string;
  /** Slots held by the current and previous versions: a slot issuer must mint into another one. */
  readonly slotsInUse: readonly string[];
  /** When the new version will expire (issuers that set a lifetime use it). */
  readonly expiresAtInMs: number;
  readonly abortSignal?: AbortSignal;
}

export interface IssuedKeyRef {
  readonly issuerKeyId: string;
  readonly slot: string | null;
}

export interface IssuerCallOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * Where credentials come from and where they are revoked. One adapter per upstream: Azure OpenAI
 * account keys (ARM), OpenAI platform service-account keys (Admin API), Palisade's own API keys.
 */
export interface CredentialIssuer {
  readonly kind: IssuerKind;
  mint(credential: ManagedCredential, context: MintContext): Promise<MintedCredential>;
  /**
   * A real call with the value: true when the upstream accepts it, false when it refuses it (401/403).
   * Throws on anything else (network, 5xx): that is not a verdict, and the rotation retries later.
   */
  verify(credential: ManagedCredential, value: string, options?: IssuerCallOptions): Promise<boolean>;
  /** Makes the key stop working. Idempotent: revoking what is already gone succeeds. */
  revoke(credential: ManagedCredential, key: IssuedKeyRef, options?: IssuerCallOptions): Promise<void>;
}

/** An issuer call failed for a reason that is not a verdict on the key. Messages never carry key material. */
export class CredentialIssuerError extends Error {
  override readonly name = "CredentialIssuerError";
  constructor(
    message: string,
    readonly statusCode: number | null = null,
  ) {
    super(message);
  }
}

export function isCredentialIssuerError(value: unknown): value is CredentialIssuerError {
  return value instanceof Error && value.name === "CredentialIssuerError";
}
