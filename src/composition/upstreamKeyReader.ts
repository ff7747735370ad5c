import { type Clock } from "../core/clock.js";
import { readCurrentCredential } from "../core/rotation/readCurrentCredential.js";
import { type SecretStore } from "../core/secrets/SecretStore.js";

const UPSTREAM_KEY_CACHE_IN_MS = 5 * 60_000;

/** Reads an upstream key through a short cache (shorter than any rotation overlap, so rotation never breaks a call). */
export function cachedSecretReader(secrets: SecretStore, clock: Clock): (name: string) => Promise<string> {
  const cache = new Map<string, { value: string; untilInMs: number }>();
  return async (name) => {
    const now = clock.nowInMs();
    const hit = cache.get(name);
    if (hit && hit.untilInMs > now) return hit.value;
    // The version tagged current (or previous, inside its overlap) — never a pending one mid-rotation —
    // and never one that is disabled, expired or not yet valid.
    const credential = await readCurrentCredential(secrets, name, clock);
    if (!credential) throw new Error(`Key Vault secret ${name} has no usable current version`);
    cache.set(name, { value: credential.value, untilInMs: now + UPSTREAM_KEY_CACHE_IN_MS });
    return credential.value;
  };
}
