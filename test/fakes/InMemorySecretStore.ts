import { randomBytes } from "node:crypto";
import type { Clock } from "../../src/core/clock.js";
import type {
  GetSecretOptions,
  ListSecretsOptions,
  SecretPropertiesPatch,
  SecretStore,
  SecretSummary,
  SecretVersion,
  SecretVersionProperties,
  SetSecretOptions,
  UpdateSecretPropertiesOptions,
} from "../../src/core/secrets/SecretStore.js";
import { SecretDisabledError, secretNotFound } from "../../src/core/secrets/secretErrors.js";
import { assertValidSecretName } from "../../src/core/secrets/secretName.js";

interface StoredVersion {
  version: string;
  value: string;
  enabled: boolean;
  expiresAtInMs: number | null;
  notBeforeInMs: number | null;
  createdAtInMs: number;
  updatedAtInMs: number;
  tags: Record<string, string>;
  contentType: string | null;
}

/** Key Vault keeps whole seconds; so does the fake, so that the contract holds for both. */
const toSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new DOMException("The operation was aborted.", "AbortError");
}

/** SecretStore in memory, with Key Vault's behaviour: versions, disabled refusals, second precision. */
export class InMemorySecretStore implements SecretStore {
  private readonly secrets = new Map<string, StoredVersion[]>();

  constructor(private readonly clock: Clock) {}

  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretVersion | null> {
    throwIfAborted(options.abortSignal);
    assertValidSecretName(name);
    const found = this.find(name, options.version);
    if (found === undefined) return null;
    if (!found.enabled) throw new SecretDisabledError(name, options.version ?? null);
    return { ...this.properties(name, found), value: found.value };
  }

  async setSecret(name: string, value: string, options: SetSecretOptions = {}): Promise<SecretVersionProperties> {
    throwIfAborted(options.abortSignal);
    assertValidSecretName(name);
    const now = toSeconds(this.clock.nowInMs());
    const stored: StoredVersion = {
      version: randomBytes(16).toString("hex"),
      value,
      enabled: options.enabled ?? true,
      expiresAtInMs: options.expiresAtInMs === undefined ? null : toSeconds(options.expiresAtInMs),
      notBeforeInMs: options.notBeforeInMs === undefined ? null : toSeconds(options.notBeforeInMs),
      createdAtInMs: now,
      updatedAtInMs: now,
      tags: { ...options.tags },
      contentType: options.contentType ?? null,
    };
    const versions = this.secrets.get(name) ?? [];
    versions.push(stored);
    this.secrets.set(name, versions);
    return this.properties(name, stored);
  }

  async updateSecretProperties(
    name: string,
    version: string,
    patch: SecretPropertiesPatch,
    options: UpdateSecretPropertiesOptions = {},
  ): Promise<SecretVersionProperties> {
    throwIfAborted(options.abortSignal);
    assertValidSecretName(name);
    const found = this.find(name, version);
    if (found === undefined || version === "") throw secretNotFound(name, version);
    if (patch.enabled !== undefined) found.enabled = patch.enabled;
    if (patch.expiresAtInMs !== undefined) found.expiresAtInMs = toSeconds(patch.expiresAtInMs);
    if (patch.notBeforeInMs !== undefined) found.notBeforeInMs = toSeconds(patch.notBeforeInMs);
    if (patch.tags !== undefined) found.tags = { ...patch.tags };
    if (patch.contentType !== undefined) found.contentType = patch.contentType;
    found.updatedAtInMs = toSeconds(this.clock.nowInMs());
    return this.properties(name, found);
  }

  async *listSecretVersions(name: string, options: ListSecretsOptions = {}): AsyncIterable<SecretVersionProperties> {
    throwIfAborted(options.abortSignal);
    assertValidSecretName(name);
    for (const stored of [...(this.secrets.get(name) ?? [])]) yield this.properties(name, stored);
  }

  async *listSecrets(options: ListSecretsOptions = {}): AsyncIterable<SecretSummary> {
    throwIfAborted(options.abortSignal);
    for (const [name, versions] of [...this.secrets.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const latest = versions.at(-1);
      if (latest === undefined) continue;
      const { version: _version, ...summary } = this.properties(name, latest);
      yield summary;
    }
  }

  private find(name: string, version: string | undefined): StoredVersion | undefined {
    const versions = this.secrets.get(name);
    if (versions === undefined) return undefined;
    return version === undefined || version === "" ? versions.at(-1) : versions.find((v) => v.version === version);
  }

  private properties(name: string, stored: StoredVersion): SecretVersionProperties {
    return {
      name,
      version: stored.version,
      enabled: stored.enabled,
      expiresAtInMs: stored.expiresAtInMs,
      notBeforeInMs: stored.notBeforeInMs,
      createdAtInMs: stored.createdAtInMs,
      updatedAtInMs: stored.updatedAtInMs,
      tags: { ...stored.tags },
      contentType: stored.contentType,
    };
  }
}
