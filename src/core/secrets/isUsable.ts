import type { SecretVersionProperties } from "./SecretStore.js";

/**
 * Whether a version may be used now. Key Vault still returns expired and not-yet-valid secrets, so
 * the app enforces `exp` and `nbf` itself; disabled versions are never usable.
 */
export function isUsable(
  version: Pick<SecretVersionProperties, "enabled" | "expiresAtInMs" | "notBeforeInMs">,
  nowInMs: number,
): boolean {
  if (!version.enabled) return false;
  if (version.expiresAtInMs !== null && nowInMs >= version.expiresAtInMs) return false;
  if (version.notBeforeInMs !== null && nowInMs < version.notBeforeInMs) return false;
  return true;
}
