import { generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { signP256Digest } from "../../local/keyvault/ecdsaP256.js";
import { type CheckpointKeyVersions, type CheckpointSignature, type CheckpointSigner } from "../../src/core/audit/CheckpointSigner.js";
import { PublicKeySignatureVerifier } from "../../src/core/audit/PublicKeySignatureVerifier.js";

interface Version {
  readonly publicJwk: JsonWebKey;
  readonly d: string;
}

const newVersion = (): Version => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const d = privateKey.export({ format: "jwk" }).d;
  if (d === undefined) throw new Error("no private scalar");
  return { publicJwk: publicKey.export({ format: "jwk" }), d };
};

/**
 * ES256 with P-256 keys made by node:crypto, in versions like a Key Vault key (`sign` uses the latest).
 * node:crypto always hashes what it signs, so the digest is signed with the emulator's BigInt ECDSA
 * (as Key Vault signs a digest).
 */
export class InMemoryCheckpointSigner implements CheckpointSigner, CheckpointKeyVersions {
  private readonly versions = new Map<string, Version>();
  private current: string;
  /** Versions that refuse to sign (expired or disabled in a vault). */
  readonly unusable = new Set<string>();
  signCount = 0;
  /** Expiry (epoch ms) by version; a version not listed has none. */
  readonly expiries = new Map<string, number>();

  constructor(keyId = "memory://checkpoint-key/1") {
    this.current = keyId;
    this.versions.set(keyId, newVersion());
  }

  get keyId(): string {
    return this.current;
  }

  get publicJwk(): JsonWebKey {
    return (this.versions.get(this.current) as Version).publicJwk;
  }

  async sign(digest: Uint8Array): Promise<CheckpointSignature> {
    return { keyId: this.current, signature: await this.signWith(this.current, digest) };
  }

  async signWith(keyId: string, digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32) throw new RangeError("ES256 signs a 32-byte SHA-256 digest");
    const version = this.versions.get(keyId);
    if (version === undefined || this.unusable.has(keyId)) throw new Error(`key version ${keyId} cannot sign`);
    this.signCount += 1;
    return signP256Digest({ d: version.d }, digest);
  }

  async currentKeyId(): Promise<string> {
    return this.current;
  }

  async publicKey(keyId: string): Promise<JsonWebKey | null> {
    return this.versions.get(keyId)?.publicJwk ?? null;
  }

  /** A new latest version, as a vault rotation (or an attacker with vault write access) would add. */
  async createVersion(): Promise<string> {
    const keyId = `${this.current.replace(/\/\d+$/, "")}/${this.versions.size + 1}`;
    this.versions.set(keyId, newVersion());
    this.current = keyId;
    return keyId;
  }

  async expiresAt(keyId: string): Promise<number | null> {
    if (!this.versions.has(keyId)) throw new Error(`${keyId} is not a version of the checkpoint key`);
    return this.expiries.get(keyId) ?? null;
  }

  /** A verifier that trusts every version of this key (as the Key Vault verifier does). */
  verifier(): PublicKeySignatureVerifier {
    return new PublicKeySignatureVerifier(Object.fromEntries([...this.versions].map(([id, v]) => [id, v.publicJwk])));
  }
}
