import { type JsonWebKey } from "node:crypto";

export interface SignOptions {
  readonly abortSignal?: AbortSignal;
}

export interface CheckpointSignature {
  /** Identifies the key version that signed (Key Vault: the key's versioned id). */
  readonly keyId: string;
  /** ES256 r||s, 64 bytes. */
  readonly signature: Uint8Array;
}

/** Signs checkpoint digests with ES256 (ECDSA P-256) over a SHA-256 digest the caller computed. */
export interface CheckpointSigner {
  sign(digest: Uint8Array, options?: SignOptions): Promise<CheckpointSignature>;
}

/**
 * The versions of the checkpoint-signing key, for pinning: sign with a named version, read a version's
 * public key, and make a new version inside the vault (so its private half never exists outside it).
 */
export interface CheckpointKeyVersions {
  /** The version `sign` uses when nothing is pinned yet. */
  currentKeyId(options?: SignOptions): Promise<string>;
  signWith(keyId: string, digest: Uint8Array, options?: SignOptions): Promise<Uint8Array>;
  /** The public JWK of a version of this key; null when the id is not a version of it. */
  publicKey(keyId: string, options?: SignOptions): Promise<JsonWebKey | null>;
  /** A new version made in the vault; returns its versioned id. */
  createVersion(options?: SignOptions): Promise<string>;
  /** When a version of this key expires (epoch ms); null when it has no expiry. Throws when it is not a version of this key. */
  expiresAt(keyId: string, options?: SignOptions): Promise<number | null>;
}
