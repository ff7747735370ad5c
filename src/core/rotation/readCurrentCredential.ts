import type { Clock } from "../clock.js";
import { isUsable } from "../secrets/isUsable.js";
import { isSecretDisabledError } from "../secrets/secretErrors.js";
import type { SecretStore } from "../secrets/SecretStore.js";
import { CREDENTIAL_TAGS, type CredentialVersion, newestFirst, toCredentialVersion } from "./managedCredential.js";

export interface CurrentCredential {
  readonly value: string;
  readonly version: string;
  /** `previous` only when no current version is usable and the previous one is inside its overlap. */
  readonly stage: "current" | "previous";
  readonly expiresAtInMs: number | null;
}

export interface ReadCurrentCredentialOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * The value a caller should use now: the newest version tagged current that is usable (enabled, not
 * expired, not before its nbf — Key Vault returns expired versions, so that is checked here), else the
 * newest usable previous version while its overlap lasts (overlap measured from its demotion, the
 * version's `updatedAtInMs`). Null when neither exists. Never logs or throws the value.
 */
export async function readCurrentCredential(
  secrets: SecretStore,
  name: string,
  clock: Clock,
  options: ReadCurrentCredentialOptions = {},
): Promise<CurrentCredential | null> {
  const versions: CredentialVersion[] = [];
  for await (const properties of secrets.listSecretVersions(name, { abortSignal: options.abortSignal })) {
    versions.push(toCredentialVersion(properties));
  }
  versions.sort(newestFirst);
  const nowInMs = clock.nowInMs();

  const read = async (candidate: CredentialVersion, stage: "current" | "previous"): Promise<CurrentCredential | null> => {
    try {
      const secret = await secrets.getSecret(name, { version: candidate.version, abortSignal: options.abortSignal });
      // Re-checked on the value's own properties: the version may have changed since it was listed.
      if (secret === null || !isUsable(secret, nowInMs)) return null;
      return { value: secret.value, version: secret.version, stage, expiresAtInMs: secret.expiresAtInMs };
    } catch (error) {
      if (isSecretDisabledError(error)) return null; // disabled between list and get
      throw error;
    }
  };

  for (const candidate of versions) {
    if (candidate.stage !== "current" || !isUsable(candidate, nowInMs)) continue;
    const found = await read(candidate, "current");
    if (found !== null) return found;
  }
  for (const candidate of versions) {
    if (candidate.stage !== "previous" || !isUsable(candidate, nowInMs)) continue;
    const overlapInSeconds = Number(candidate.tags[CREDENTIAL_TAGS.overlapInSeconds] ?? "0");
    const overlapInMs = Number.isFinite(overlapInSeconds) ? overlapInSeconds * 1000 : 0;
    if (nowInMs >= candidate.updatedAtInMs + overlapInMs) continue;
    const found = await read(candidate, "previous");
    if (found !== null) return found;
  }
  return null;
}
