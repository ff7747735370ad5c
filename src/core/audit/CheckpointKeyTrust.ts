import { type Clock } from "../clock.js";
import { type Logger } from "../logger.js";
import { AuditIntegrityError, isAuditIntegrityError } from "./AuditIntegrityError.js";
import { type CheckpointKeyPin, type CheckpointKeyPinBody, ecPublicKeyOf, jwkThumbprint, keyPinHash, keyPinText, type PinnedKey, verifyKeyPinChain } from "./checkpointKeyPin.js";
import { type CheckpointKeyPins, type KeyPinOptions } from "./CheckpointKeyPins.js";
import { type CheckpointKeyVersions, type CheckpointSignature, type CheckpointSigner, type SignOptions } from "./CheckpointSigner.js";
import { sha256 } from "./hashing.js";
import { PublicKeySignatureVerifier } from "./PublicKeySignatureVerifier.js";

export interface CheckpointKeyTrustDeps {
  readonly pins: CheckpointKeyPins;
  readonly keys: CheckpointKeyVersions;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The pinned trust as a verifier sees it: the key versions it may accept, and the root an auditor writes down. */
export interface PinnedTrust {
  readonly root: string | null;
  readonly keys: readonly PinnedKey[];
  readonly verifier: PublicKeySignatureVerifier;
  readonly trustedKeyIds: ReadonlySet<string>;
}

const MAX_PIN_ATTEMPTS = 3;
const PINS_FRESH_FOR_IN_MS = 60_000;

/**
 * Pinned trust in the checkpoint-signing key. Checkpoints are signed with the latest PINNED version, never
 * with whatever version the vault holds last, so a version someone added to the vault is neither used nor
 * trusted. The first checkpoint of a deployment pins the vault's current version as the trust root; a
 * rotation (an operator's explicit step) makes a version inside the vault and pins it with the previous
 * pinned key's signature.
 */
export class CheckpointKeyTrust implements CheckpointSigner {
  /** The latest pinned version, as last read. */
  private signing: { readonly keyId: string; readonly readAtInMs: number } | null = null;

  constructor(private readonly deps: CheckpointKeyTrustDeps) {}

  /** The pins checked as a chain of trust; throws AuditIntegrityError("invalid_key_pin") when it is broken. */
  async load(options: KeyPinOptions = {}): Promise<{ pins: CheckpointKeyPin[]; trust: PinnedTrust }> {
    const stored = [];
    for await (const item of this.deps.pins.list(options)) stored.push(item);
    const chain = verifyKeyPinChain(stored);
    if (!chain.ok) throw new AuditIntegrityError("invalid_key_pin", chain.message);
    const pins = stored.flatMap((item) => ("pin" in item ? [item.pin] : [])).sort((a, b) => a.index - b.index);
    const verifier = new PublicKeySignatureVerifier(Object.fromEntries(chain.keys.map((k) => [k.keyId, k.publicKey])));
    return { pins, trust: { root: chain.root, keys: chain.keys, verifier, trustedKeyIds: new Set(chain.keys.map((k) => k.keyId)) } };
  }

  /**
   * Signs with the latest pinned version; on a deployment's first checkpoint, pins the vault's current version
   * first. The pins are read again at most once a minute (a rotation elsewhere is picked up within it). Broken
   * pins refuse the checkpoint with `audit.checkpoint.refused`, which the refused-checkpoint alert watches.
   */
  async sign(digest: Uint8Array, options: SignOptions = {}): Promise<CheckpointSignature> {
    const now = this.deps.clock.nowInMs();
    if (this.signing === null || now - this.signing.readAtInMs >= PINS_FRESH_FOR_IN_MS) {
      try {
        let { pins } = await this.load(options);
        if (pins.length === 0) pins = await this.pinRoot(options);
        this.signing = { keyId: (pins.at(-1) as CheckpointKeyPin).keyId, readAtInMs: now };
      } catch (error) {
        if (isAuditIntegrityError(error)) this.deps.logger.error("audit.checkpoint.refused", { problem: error.problem });
        throw error;
      }
    }
    const { keyId } = this.signing;
    return { keyId, signature: await this.deps.keys.signWith(keyId, digest, options) };
  }

  /**
   * The version checkpoints are signed with and its expiry, for the key expiry check: the latest pinned one,
   * or the vault's current version while nothing is pinned (the first checkpoint pins it). Pins nothing.
   */
  async signingKeyExpiry(options: SignOptions = {}): Promise<{ keyId: string; pinned: boolean; expiresAtInMs: number | null }> {
    const { pins } = await this.load(options);
    const latest = pins.at(-1);
    const keyId = latest?.keyId ?? (await this.deps.keys.currentKeyId(options));
    return { keyId, pinned: latest !== undefined, expiresAtInMs: await this.deps.keys.expiresAt(keyId, options) };
  }

  /** Rotation: a new version made in the vault, pinned with the previous pinned key's signature. */
  async rotate(options: SignOptions = {}): Promise<{ previous: PinnedKey | null; pinned: PinnedKey }> {
    let { pins } = await this.load(options);
    if (pins.length === 0) pins = await this.pinRoot(options);
    const previous = pins.at(-1) as CheckpointKeyPin;
    const keyId = await this.deps.keys.createVersion(options);
    const pinned = await this.pinNext(keyId, options);
    this.signing = { keyId: pinned.keyId, readAtInMs: this.deps.clock.nowInMs() };
    return { previous: { keyId: previous.keyId, thumbprint: previous.thumbprint, pinnedAt: previous.pinnedAt, publicKey: previous.publicKey }, pinned };
  }

  private async pinRoot(options: SignOptions): Promise<CheckpointKeyPin[]> {
    const keyId = await this.deps.keys.currentKeyId(options);
    const pin = await this.makePin(keyId, null, options);
    const stored = await this.deps.pins.put(pin, options);
    if (stored === "stored") this.deps.logger.warn("audit.checkpoint.trust_root_pinned", { keyId, thumbprint: pin.thumbprint });
    // Another instance may have pinned a root first: go by what is stored.
    const { pins } = await this.load(options);
    if (pins.length === 0) throw new AuditIntegrityError("invalid_key_pin", "The trust root was written but cannot be read back.");
    return pins;
  }

  private async pinNext(keyId: string, options: SignOptions): Promise<PinnedKey> {
    for (let attempt = 1; ; attempt += 1) {
      const { pins, trust } = await this.load(options);
      const already = trust.keys.find((k) => k.keyId === keyId);
      if (already !== undefined) return already;
      const pin = await this.makePin(keyId, pins.at(-1) ?? null, options);
      if ((await this.deps.pins.put(pin, options)) === "stored") {
        this.deps.logger.warn("audit.checkpoint.key_pinned", { keyId, index: pin.index, thumbprint: pin.thumbprint, previousKeyId: pin.previousKeyId });
        return { keyId, thumbprint: pin.thumbprint, pinnedAt: pin.pinnedAt, publicKey: pin.publicKey };
      }
      if (attempt >= MAX_PIN_ATTEMPTS) throw new AuditIntegrityError("invalid_key_pin", `Could not pin ${keyId}: other pins keep taking index ${pin.index}.`);
    }
  }

  private async makePin(keyId: string, previous: CheckpointKeyPin | null, options: SignOptions): Promise<CheckpointKeyPin> {
    const publicKey = ecPublicKeyOf(await this.deps.keys.publicKey(keyId, options));
    if (publicKey === null) throw new AuditIntegrityError("untrusted_key", `${keyId} is not an EC P-256 version of the checkpoint key: it cannot be pinned.`);
    const body: CheckpointKeyPinBody = {
      index: previous === null ? 0 : previous.index + 1,
      keyId,
      publicKey,
      thumbprint: jwkThumbprint(publicKey),
      pinnedAt: new Date(this.deps.clock.nowInMs()).toISOString(),
      previousKeyId: previous?.keyId ?? null,
      previousPinHash: previous === null ? null : keyPinHash(previous),
    };
    const digest = sha256(keyPinText(body));
    const selfSignature = Buffer.from(await this.deps.keys.signWith(keyId, digest, options)).toString("base64");
    let previousKeySignature: string | null = null;
    if (previous !== null) {
      try {
        previousKeySignature = Buffer.from(await this.deps.keys.signWith(previous.keyId, digest, options)).toString("base64");
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new AuditIntegrityError("untrusted_key", `Cannot pin ${keyId}: the previous pinned key ${previous.keyId} cannot sign its introduction (${reason}). Re-enable or extend that version, then rotate again.`);
      }
    }
    return { ...body, algorithm: "ES256", selfSignature, previousKeySignature };
  }
}
