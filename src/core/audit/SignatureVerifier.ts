export interface VerifySignatureInput {
  readonly keyId: string;
  /** The signed message (the checkpoint note text); ES256 is over SHA-256 of it. */
  readonly message: Uint8Array;
  /** r||s, 64 bytes. */
  readonly signature: Uint8Array;
}

/** Checks checkpoint signatures. Returns false (never throws) for an unknown key or a bad signature. */
export interface SignatureVerifier {
  verify(input: VerifySignatureInput): Promise<boolean>;
}
