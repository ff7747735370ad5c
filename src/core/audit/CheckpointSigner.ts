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
