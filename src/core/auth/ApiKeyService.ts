import { type Clock } from "../clock.js";
import { invalidRequest } from "../errors.js";
import { type ApiKeyRecord, type ApiKeyStore, type ListApiKeysOptions, isApiKeyAlreadyExistsError } from "./ApiKeyStore.js";
import {
  KEY_ID_BYTES,
  SECRET_BYTES,
  base32,
  formatApiKey,
  hashApiKeySecret,
  parseApiKey,
  secretHashesEqual,
} from "./apiKeyFormat.js";
import { expiredApiKey, invalidApiKey, revokedApiKey } from "./authErrors.js";

export type ApiKeyStatus = "active" | "expired" | "revoked";

/** Revoked wins over expired: it is the deliberate act. */
export function apiKeyStatus(record: ApiKeyRecord, nowInMs: number): ApiKeyStatus {
  if (record.revokedAtInMs !== null && record.revokedAtInMs <= nowInMs) return "revoked";
  if (nowInMs >= record.expiresAtInMs) return "expired";
  return "active";
}

export interface ApiKeyServiceDeps {
  readonly store: ApiKeyStore;
  readonly clock: Clock;
  /** Cryptographically secure random bytes (node:crypto randomBytes in production). */
  readonly random: (bytes: number) => Uint8Array;
  /**
   * How long a successful verification is remembered by this instance (default 30 s; 0 disables).
   * A key revoked elsewhere (the CLI, another instance) keeps working here for at most this long.
   * Expiry is still checked against the clock on every request; a revoke through this same service
   * takes effect at once; failed verifications are never cached.
   */
  readonly cacheTtlInMs?: number;
  /** Bound on remembered keys (default 10 000); the oldest entry is dropped first. */
  readonly cacheMaxEntries?: number;
}

export interface CreateApiKeyInput {
  readonly project: string;
  readonly serviceAccount: string;
  readonly expiresInMs: number;
}

export interface CreatedApiKey {
  /** The full key. Shown once: only its hash is stored. */
  readonly apiKey: string;
  readonly record: ApiKeyRecord;
}

export const DEFAULT_API_KEY_CACHE_TTL_IN_MS = 30_000;
/** Keys live at most ten years; "forever" is not an expiry. */
export const MAX_API_KEY_LIFETIME_IN_MS = 3650 * 24 * 60 * 60 * 1000;
const IDENTIFIER = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CREATE_ATTEMPTS = 3;

interface CacheEntry {
  readonly record: ApiKeyRecord;
  readonly cachedUntilInMs: number;
}

/** Creates, verifies, lists and revokes Palisade API keys. */
export class ApiKeyService {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheTtlInMs: number;
  private readonly cacheMaxEntries: number;

  constructor(private readonly deps: ApiKeyServiceDeps) {
    this.cacheTtlInMs = Math.max(0, deps.cacheTtlInMs ?? DEFAULT_API_KEY_CACHE_TTL_IN_MS);
    this.cacheMaxEntries = Math.max(1, deps.cacheMaxEntries ?? 10_000);
  }

  async create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    if (!IDENTIFIER.test(input.project)) throw invalidRequest("project must be a policy project id (lower-case letters, digits and dashes).", "project");
    if (!IDENTIFIER.test(input.serviceAccount)) throw invalidRequest("serviceAccount must be a policy service account id (lower-case letters, digits and dashes).", "serviceAccount");
    if (!Number.isSafeInteger(input.expiresInMs) || input.expiresInMs <= 0 || input.expiresInMs > MAX_API_KEY_LIFETIME_IN_MS) {
      throw invalidRequest("expiresInMs must be a positive whole number of milliseconds, at most ten years.", "expiresInMs");
    }
    for (let attempt = 1; ; attempt += 1) {
      const keyId = base32(this.randomBytes(KEY_ID_BYTES));
      const secret = base32(this.randomBytes(SECRET_BYTES));
      const createdAtInMs = this.deps.clock.nowInMs();
      const record: ApiKeyRecord = {
        keyId,
        secretHash: hashApiKeySecret(keyId, secret),
        project: input.project,
        serviceAccount: input.serviceAccount,
        createdAtInMs,
        expiresAtInMs: createdAtInMs + input.expiresInMs,
        revokedAtInMs: null,
      };
      try {
        await this.deps.store.create(record);
        return { apiKey: formatApiKey(keyId, secret), record };
      } catch (error) {
        // 80-bit ids do not collide in practice; a broken random source would, and should not loop.
        if (!isApiKeyAlreadyExistsError(error) || attempt >= CREATE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * The record of a valid key, or a 401: `invalid_api_key` for anything malformed, unknown or with the
   * wrong secret (one message, so an id's existence cannot be probed), then `revoked_api_key`,
   * then `expired_api_key` — the latter two only once the secret has matched.
   */
  async verify(apiKey: string): Promise<ApiKeyRecord> {
    const parsed = parseApiKey(apiKey);
    if (parsed === null) throw invalidApiKey();
    const presentedHash = hashApiKeySecret(parsed.keyId, parsed.secret);
    const nowInMs = this.deps.clock.nowInMs();
    const cacheKey = `${parsed.keyId}:${presentedHash}`;
    const cached = this.cache.get(cacheKey);
    let record: ApiKeyRecord;
    if (cached !== undefined && cached.cachedUntilInMs > nowInMs) {
      record = cached.record;
    } else {
      if (cached !== undefined) this.cache.delete(cacheKey);
      const stored = await this.deps.store.get(parsed.keyId);
      if (stored === null || stored.keyId !== parsed.keyId || !secretHashesEqual(presentedHash, stored.secretHash)) throw invalidApiKey();
      record = stored;
    }
    const status = apiKeyStatus(record, nowInMs);
    if (status === "revoked") throw revokedApiKey(record.keyId);
    if (status === "expired") throw expiredApiKey(record.keyId, new Date(record.expiresAtInMs).toISOString());
    if (cached === undefined || cached.cachedUntilInMs <= nowInMs) this.remember(cacheKey, record, nowInMs);
    return record;
  }

  list(filter: ListApiKeysOptions = {}): AsyncIterable<ApiKeyRecord> {
    return this.deps.store.list(filter);
  }

  async get(keyId: string): Promise<ApiKeyRecord | null> {
    return this.deps.store.get(keyId);
  }

  /** Revokes the key (idempotent) and forgets it here at once; null when there is no such key. */
  async revoke(keyId: string): Promise<ApiKeyRecord | null> {
    this.forget(keyId);
    const record = await this.deps.store.revoke(keyId, this.deps.clock.nowInMs());
    this.forget(keyId);
    return record;
  }

  status(record: ApiKeyRecord): ApiKeyStatus {
    return apiKeyStatus(record, this.deps.clock.nowInMs());
  }

  private randomBytes(count: number): Uint8Array {
    const bytes = this.deps.random(count);
    if (bytes.length !== count) throw new Error(`random source returned ${bytes.length} bytes, expected ${count}`);
    return bytes;
  }

  private remember(cacheKey: string, record: ApiKeyRecord, nowInMs: number): void {
    if (this.cacheTtlInMs === 0) return;
    while (this.cache.size >= this.cacheMaxEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done === true) break;
      this.cache.delete(oldest.value);
    }
    this.cache.set(cacheKey, { record, cachedUntilInMs: nowInMs + this.cacheTtlInMs });
  }

  private forget(keyId: string): void {
    for (const cacheKey of this.cache.keys()) {
      if (cacheKey.startsWith(`${keyId}:`)) this.cache.delete(cacheKey);
    }
  }
}
