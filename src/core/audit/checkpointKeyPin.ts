import { createHash, createPublicKey, type JsonWebKey, verify } from "node:crypto";

/**
 * A pinned checkpoint-signing key version: the record that makes a key version trusted for checkpoint
 * notes. Pins form a chain: pin 0 (the trust root) is signed by its own key; every later pin is signed
 * by its own key (proof of possession) AND by the key of the pin before it, and names that pin's hash.
 * A key version added to the vault by someone who cannot sign with the previous pinned key cannot be
 * pinned, so notes it signs are refused. Pins are written once, beside the checkpoints (immutable
 * storage in Azure).
 */
export interface CheckpointKeyPinBody {
  /** 0 for the trust root, then 1, 2, ... in order of introduction. */
  readonly index: number;
  /** The key version's id as notes carry it (Key Vault: the versioned key id). */
  readonly keyId: string;
  /** The public key (EC P-256). */
  readonly publicKey: { readonly kty: "EC"; readonly crv: "P-256"; readonly x: string; readonly y: string };
  /** RFC 7638 SHA-256 thumbprint of `publicKey`, base64url: what an auditor writes down. */
  readonly thumbprint: string;
  readonly pinnedAt: string;
  /** The pin this one follows (null for the root). */
  readonly previousKeyId: string | null;
  /** SHA-256 (hex) of the previous pin's signed text (null for the root). */
  readonly previousPinHash: string | null;
}

export interface CheckpointKeyPin extends CheckpointKeyPinBody {
  readonly algorithm: "ES256";
  /** By the pinned key itself over the pin text, r||s base64. */
  readonly selfSignature: string;
  /** By the previous pin's key over the pin text, r||s base64 (null for the root). */
  readonly previousKeySignature: string | null;
}

/** A stored pin as read back: a pin, or something that cannot be read (a failure, never skipped). */
export type StoredKeyPin = { readonly index: number; readonly pin: CheckpointKeyPin } | { readonly index: number | null; readonly unreadable: string };

export const KEY_PIN_HEADER = "palisade-checkpoint-key-pin/v1";

/** The exact text both signatures cover. Rebuilt from the fields: a stored copy is never trusted. */
export function keyPinText(body: CheckpointKeyPinBody): string {
  return `${KEY_PIN_HEADER}\n${body.index}\n${body.keyId}\n${body.thumbprint}\n${body.pinnedAt}\n${body.previousKeyId ?? "-"}\n${body.previousPinHash ?? "-"}\n`;
}

export function keyPinHash(body: CheckpointKeyPinBody): string {
  return createHash("sha256").update(keyPinText(body), "utf8").digest("hex");
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an EC key: members crv, kty, x, y in that order. */
export function jwkThumbprint(jwk: { readonly crv: string; readonly kty: string; readonly x: string; readonly y: string }): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash("sha256").update(canonical, "utf8").digest("base64url");
}

/** The public part of an EC P-256 JWK, or null when it is not one. */
export function ecPublicKeyOf(jwk: JsonWebKey | null | undefined): CheckpointKeyPinBody["publicKey"] | null {
  if (jwk === null || jwk === undefined || jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") return null;
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
}

export function isCheckpointKeyPin(value: unknown): value is CheckpointKeyPin {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const key = v.publicKey as Record<string, unknown> | null | undefined;
  const nullableString = (x: unknown): boolean => x === null || typeof x === "string";
  return (
    typeof v.index === "number" &&
    Number.isInteger(v.index) &&
    v.index >= 0 &&
    typeof v.keyId === "string" &&
    v.keyId !== "" &&
    typeof key === "object" &&
    key !== null &&
    ecPublicKeyOf(key) !== null &&
    typeof v.thumbprint === "string" &&
    typeof v.pinnedAt === "string" &&
    nullableString(v.previousKeyId) &&
    nullableString(v.previousPinHash) &&
    v.algorithm === "ES256" &&
    typeof v.selfSignature === "string" &&
    nullableString(v.previousKeySignature)
  );
}

function signatureHolds(publicKey: CheckpointKeyPinBody["publicKey"], text: string, signatureBase64: string | null): boolean {
  if (signatureBase64 === null) return false;
  const signature = Buffer.from(signatureBase64, "base64");
  if (signature.length !== 64) return false;
  try {
    const key = createPublicKey({ key: { ...publicKey }, format: "jwk" });
    return verify("sha256", Buffer.from(text, "utf8"), { key, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false;
  }
}

export interface PinnedKey {
  readonly keyId: string;
  readonly thumbprint: string;
  readonly pinnedAt: string;
  readonly publicKey: CheckpointKeyPinBody["publicKey"];
}

export type KeyPinChainResult =
  | { readonly ok: true; readonly keys: readonly PinnedKey[]; readonly root: string | null }
  | { readonly ok: false; readonly index: number | null; readonly message: string };

/**
 * Checks the pins as a chain of trust from pin 0: consecutive indexes, each pin's thumbprint over its
 * key, its own signature, the link to the previous pin and the previous key's signature. The first
 * failure is reported; an empty list is a valid (empty) chain.
 */
export function verifyKeyPinChain(stored: readonly StoredKeyPin[]): KeyPinChainResult {
  const sorted = [...stored].sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
  const keys: PinnedKey[] = [];
  let previous: CheckpointKeyPin | null = null;
  for (const [position, item] of sorted.entries()) {
    const fail = (message: string): KeyPinChainResult => ({ ok: false, index: item.index, message });
    if (!("pin" in item)) return fail(`Key pin ${item.index ?? "?"} cannot be read (${item.unreadable}): the trust record was damaged.`);
    const pin = item.pin;
    if (pin.index !== position) {
      return fail(position < pin.index ? `Key pin ${position} is missing (deleted): the trust chain is broken.` : `Key pin ${pin.index} appears twice.`);
    }
    if (jwkThumbprint(pin.publicKey) !== pin.thumbprint) return fail(`Key pin ${pin.index} (${pin.keyId}): the thumbprint does not match the public key (trust record edited).`);
    const text = keyPinText(pin);
    if (!signatureHolds(pin.publicKey, text, pin.selfSignature)) return fail(`Key pin ${pin.index} (${pin.keyId}): its own signature does not hold (trust record edited).`);
    if (keys.some((k) => k.keyId === pin.keyId)) return fail(`Key pin ${pin.index}: key version ${pin.keyId} is pinned twice.`);
    if (previous === null) {
      if (pin.previousKeyId !== null || pin.previousPinHash !== null || pin.previousKeySignature !== null) return fail(`Key pin 0 (${pin.keyId}) claims a predecessor: the trust root was replaced.`);
    } else {
      if (pin.previousKeyId !== previous.keyId || pin.previousPinHash !== keyPinHash(previous)) {
        return fail(`Key pin ${pin.index} (${pin.keyId}) does not follow pin ${previous.index}: the trust chain was edited.`);
      }
      if (!signatureHolds(previous.publicKey, text, pin.previousKeySignature)) {
        return fail(`Key pin ${pin.index} (${pin.keyId}) is not signed by the previous pinned key ${previous.keyId}: a key version was added without the previous key.`);
      }
    }
    keys.push({ keyId: pin.keyId, thumbprint: pin.thumbprint, pinnedAt: pin.pinnedAt, publicKey: pin.publicKey });
    previous = pin;
  }
  return { ok: true, keys, root: keys[0]?.thumbprint ?? null };
}
