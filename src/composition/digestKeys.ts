import { createHmac, randomBytes } from "node:crypto";
import { type SecretStore } from "../core/secrets/SecretStore.js";
import { type Settings } from "./settings.js";

/** The HMAC key for prompt digests: from Key Vault; created there on first use on the local stack only. */
export async function digestKeyFrom(secrets: SecretStore | null, settings: Settings): Promise<Uint8Array | null> {
  if (!secrets) return null;
  const existing = await secrets.getSecret(settings.PALISADE_AUDIT_DIGEST_SECRET);
  if (existing) return Buffer.from(existing.value, "base64");
  if (!settings.PALISADE_LOCAL_STACK) throw new Error(`Key Vault secret ${settings.PALISADE_AUDIT_DIGEST_SECRET} (the audit digest key) is missing; see docs/deploy.md`);
  const value = randomBytes(32).toString("base64");
  await secrets.setSecret(settings.PALISADE_AUDIT_DIGEST_SECRET, value, { contentType: "application/octet-stream;base64", tags: { purpose: "audit-digest" } });
  return Buffer.from(value, "base64");
}

/** A key for one purpose derived from the digest key, so that one Key Vault secret serves them all; random (per process) without one. */
export function derivedKey(digestKey: Uint8Array | null, purpose: string): Buffer {
  return digestKey ? createHmac("sha256", digestKey).update(purpose).digest() : randomBytes(32);
}
