import { type TokenCredential } from "@azure/identity";
import { CryptographyClient, KeyClient, type KeyClientOptions, type KeyVaultKey } from "@azure/keyvault-keys";
import { type JsonWebKey } from "node:crypto";
import { type CheckpointKeyVersions, type CheckpointSignature, type CheckpointSigner, type SignOptions } from "../../core/audit/CheckpointSigner.js";
import { PublicKeySignatureVerifier } from "../../core/audit/PublicKeySignatureVerifier.js";
import { type SignatureVerifier, type VerifySignatureInput } from "../../core/audit/SignatureVerifier.js";

export interface KeyVaultCheckpointSignerOptions {
  readonly vaultUrl: string;
  /** The EC P-256 key (PALISADE_CHECKPOINT_KEY). */
  readonly keyName: string;
  readonly credential: TokenCredential;
  readonly clientOptions?: KeyClientOptions;
  /** Create the key when absent (local emulator only; in Azure infra creates it). */
  readonly createKeyIfMissing?: boolean;
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === "object" && error !== null && "statusCode" in error) {
    const { statusCode } = error;
    return typeof statusCode === "number" ? statusCode : undefined;
  }
  return undefined;
}

/** `https://vault/keys/<name>/<version>` -> name and version; null for anything else. */
export function parseKeyId(keyId: string): { name: string; version: string } | null {
  const match = /\/keys\/([^/]+)\/([^/?#]+)$/.exec(keyId);
  return match === null || match[1] === undefined || match[2] === undefined ? null : { name: match[1], version: match[2] };
}

const toJwk = (key: KeyVaultKey): JsonWebKey | null => {
  const { x, y, crv } = key.key ?? {};
  if (x === undefined || y === undefined || crv !== "P-256") return null;
  return { kty: "EC", crv: "P-256", x: Buffer.from(x).toString("base64url"), y: Buffer.from(y).toString("base64url") };
};

/**
 * Signs checkpoint digests with a Key Vault EC P-256 key (ES256): the private key never leaves the
 * vault. The signature's key id is the key's versioned id, so rotation keeps old checkpoints
 * verifiable. Verification fetches the public key of the named version (cached) and checks locally,
 * so it needs only read access — and only to keys of this vault with the configured name.
 */
export class KeyVaultCheckpointSigner implements CheckpointSigner, SignatureVerifier, CheckpointKeyVersions {
  private readonly keys: KeyClient;
  private crypto: Promise<CryptographyClient> | null = null;
  private readonly versionClients = new Map<string, CryptographyClient>();
  private readonly publicKeys = new Map<string, Promise<JsonWebKey | null>>();

  constructor(private readonly options: KeyVaultCheckpointSignerOptions) {
    this.keys = new KeyClient(options.vaultUrl, options.credential, options.clientOptions);
  }

  private async currentKey(): Promise<KeyVaultKey> {
    try {
      return await this.keys.getKey(this.options.keyName);
    } catch (error) {
      if (statusCodeOf(error) !== 404 || this.options.createKeyIfMissing !== true) throw error;
      return this.keys.createEcKey(this.options.keyName, { curve: "P-256", keyOps: ["sign", "verify"] });
    }
  }

  private cryptographyClient(): Promise<CryptographyClient> {
    this.crypto ??= this.currentKey().then(
      (key) => {
        if (key.id === undefined) throw new Error(`Key Vault key ${this.options.keyName} has no id`);
        return new CryptographyClient(key.id, this.options.credential, this.options.clientOptions);
      },
      (error: unknown) => {
        this.crypto = null;
        throw error;
      },
    );
    return this.crypto;
  }

  async sign(digest: Uint8Array, options: SignOptions = {}): Promise<CheckpointSignature> {
    if (digest.length !== 32) throw new RangeError("ES256 signs a 32-byte SHA-256 digest");
    const client = await this.cryptographyClient();
    const result = await client.sign("ES256", digest, { abortSignal: options.abortSignal });
    return { keyId: result.keyID ?? client.keyID ?? "", signature: result.result };
  }

  async currentKeyId(): Promise<string> {
    return (await this.cryptographyClient()).keyID ?? "";
  }

  /** Signs with one version of the key (a pinned one, or the previous one to pin the next). */
  async signWith(keyId: string, digest: Uint8Array, options: SignOptions = {}): Promise<Uint8Array> {
    if (digest.length !== 32) throw new RangeError("ES256 signs a 32-byte SHA-256 digest");
    if (!this.isVersionOfKey(keyId)) throw new Error(`${keyId} is not a version of the checkpoint key ${this.options.keyName} in ${this.options.vaultUrl}`);
    let client = this.versionClients.get(keyId);
    if (client === undefined) {
      client = new CryptographyClient(keyId, this.options.credential, this.options.clientOptions);
      this.versionClients.set(keyId, client);
    }
    return (await client.sign("ES256", digest, { abortSignal: options.abortSignal })).result;
  }

  publicKey(keyId: string): Promise<JsonWebKey | null> {
    return this.publicJwk(keyId);
  }

  /**
   * A new version generated inside the vault by Key Vault's rotate operation, so it takes the key's rotation
   * policy (its expiry). Needs Key Vault Crypto Officer: an operator, not the app.
   */
  async createVersion(): Promise<string> {
    const key = await this.keys.rotateKey(this.options.keyName);
    if (key.id === undefined) throw new Error(`Key Vault made a version of ${this.options.keyName} without an id`);
    // The new version is the vault's current one: the cached client of the old one must not answer currentKeyId.
    this.crypto = null;
    return key.id;
  }

  /** The version's expiry from its Key Vault attributes (`exp`); read each time, as an operator may extend it. */
  async expiresAt(keyId: string, options: SignOptions = {}): Promise<number | null> {
    const parsed = parseKeyId(keyId);
    if (parsed === null || !this.isVersionOfKey(keyId)) throw new Error(`${keyId} is not a version of the checkpoint key ${this.options.keyName} in ${this.options.vaultUrl}`);
    const key = await this.keys.getKey(parsed.name, { version: parsed.version, abortSignal: options.abortSignal });
    return key.properties.expiresOn?.getTime() ?? null;
  }

  private isVersionOfKey(keyId: string): boolean {
    const parsed = parseKeyId(keyId);
    return parsed !== null && parsed.name === this.options.keyName && keyId.startsWith(this.options.vaultUrl.replace(/\/$/, ""));
  }

  /** The public JWK of a key version this signer uses (for auditors and PublicKeySignatureVerifier). */
  async publicJwk(keyId: string): Promise<JsonWebKey | null> {
    const parsed = parseKeyId(keyId);
    if (parsed === null || !this.isVersionOfKey(keyId)) return null;
    let cached = this.publicKeys.get(keyId);
    if (cached === undefined) {
      cached = this.keys.getKey(parsed.name, { version: parsed.version }).then(toJwk, (error: unknown) => {
        this.publicKeys.delete(keyId);
        if (statusCodeOf(error) === 404) return null;
        throw error;
      });
      this.publicKeys.set(keyId, cached);
    }
    return cached;
  }

  async verify(input: VerifySignatureInput): Promise<boolean> {
    const jwk = await this.publicJwk(input.keyId);
    if (jwk === null) return false;
    return new PublicKeySignatureVerifier({ [input.keyId]: jwk }).verify(input);
  }
}
