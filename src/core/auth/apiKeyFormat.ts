import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Palisade API keys: `pal_<keyId>_<secret>`.
 * - keyId: 16 characters of lower-case base32 (80 random bits), the public handle used for lookups.
 * - secret: 52 characters of lower-case base32 (256 random bits), shown once and stored only as a hash.
 * Base32 (a-z, 2-7) keeps the key one "word" that survives double-click selection, URLs and shells.
 */
export const API_KEY_PREFIX = "pal_";
export const KEY_ID_BYTES = 10;
export const SECRET_BYTES = 32;
const KEY_ID_LENGTH = 16;
const SECRET_LENGTH = 52;
const API_KEY_PATTERN = /^pal_([a-z2-7]{16})_([a-z2-7]{52})$/;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32, lower case, without padding. */
export function base32(bytes: Uint8Array): string {
  let output = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      output += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) output += BASE32[(buffer << (5 - bits)) & 31];
  return output;
}

export interface ParsedApiKey {
  readonly keyId: string;
  readonly secret: string;
}

/** Splits a Palisade API key; null when it is not one (wrong prefix, length or alphabet). */
export function parseApiKey(token: string): ParsedApiKey | null {
  if (token.length !== API_KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH) return null;
  const match = API_KEY_PATTERN.exec(token);
  if (match === null) return null;
  const [, keyId, secret] = match;
  if (keyId === undefined || secret === undefined) return null;
  return { keyId, secret };
}

export function formatApiKey(keyId: string, secret: string): string {
  return `${API_KEY_PREFIX}${keyId}_${secret}`;
}

/** What listings show in place of a key: enough to recognise it, nothing to use. */
export function apiKeyDisplayPrefix(keyId: string): string {
  return `${API_KEY_PREFIX}${keyId}_…`;
}

export const isKeyId = (text: string): boolean => /^[a-z2-7]{16}$/.test(text);

/**
 * SHA-256 over a domain prefix, the key id and the secret, as hex. A slow password KDF (scrypt,
 * argon2) protects low-entropy secrets from offline guessing; these secrets are 256 random bits, so
 * guessing is already infeasible and a KDF would only cost CPU on every request. The domain prefix
 * keeps these hashes distinct from any other SHA-256 in the system, and hashing the key id binds the
 * secret to its row, so swapping hashes between rows does not make a key valid under another id.
 */
export function hashApiKeySecret(keyId: string, secret: string): string {
  return createHash("sha256").update(`palisade.api-key.v1\u0000${keyId}\u0000${secret}`, "utf8").digest("hex");
}

/** Constant-time comparison of two hex SHA-256 digests. */
export function secretHashesEqual(presentedHex: string, storedHex: string): boolean {
  const presented = Buffer.from(presentedHex, "hex");
  const stored = Buffer.from(storedHex, "hex");
  if (presented.length !== 32 || stored.length !== 32) return false;
  return timingSafeEqual(presented, stored);
}
