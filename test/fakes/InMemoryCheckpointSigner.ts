import { generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { signP256Digest } from "../../local/keyvault/ecdsaP256.js";
import { type CheckpointSignature, type CheckpointSigner } from "../../src/core/audit/CheckpointSigner.js";
import { PublicKeySignatureVerifier } from "../../src/core/audit/PublicKeySignatureVerifier.js";

/**
 * ES256 with a P-256 key made by node:crypto. node:crypto always hashes what it signs, so the
 * digest is signed with the emulator's BigInt ECDSA (as Key Vault signs a digest).
 */
export class InMemoryCheckpointSigner implements CheckpointSigner {
  readonly keyId: string;
  readonly publicJwk: JsonWebKey;
  private readonly privateD: string;
  signCount = 0;

  constructor(keyId = "memory://checkpoint-key/1") {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.keyId = keyId;
    this.publicJwk = publicKey.export({ format: "jwk" });
    const d = privateKey.export({ format: "jwk" }).d;
    if (d === undefined) throw new Error("no private scalar");
    this.privateD = d;
  }

  async sign(digest: Uint8Array): Promise<CheckpointSignature> {
    if (digest.length !== 32) throw new RangeError("ES256 signs a 32-byte SHA-256 digest");
    this.signCount += 1;
    return { keyId: this.keyId, signature: signP256Digest({ d: this.privateD }, digest) };
  }

  /** A verifier that trusts this signer's key only. */
  verifier(): PublicKeySignatureVerifier {
    return new PublicKeySignatureVerifier({ [this.keyId]: this.publicJwk });
  }
}
