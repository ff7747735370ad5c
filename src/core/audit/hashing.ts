import { createHash, createHmac } from "node:crypto";

/** SHA-256 as lowercase hex (full length). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function sha256(data: string | Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

/**
 * The content digest carried by an audit event instead of the text itself: HMAC-SHA256 under a key
 * held in Key Vault, hex. A plain hash of a short prompt could be brute-forced; an HMAC cannot
 * without the key.
 */
export function contentDigest(key: Uint8Array, text: string): string {
  if (key.length < 16) throw new RangeError("contentDigest needs a key of at least 16 bytes; read it from Key Vault.");
  return createHmac("sha256", key).update(text, "utf8").digest("hex");
}
