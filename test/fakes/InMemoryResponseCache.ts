import { type Clock } from "../../src/core/clock.js";
import { assertCacheKey, type CachedResponse, encodeCachedBody, type ResponseCache } from "../../src/core/cache/ResponseCache.js";

/** In-memory ResponseCache with the same rules as TableResponseCache (size limit, expiry on read). */
export class InMemoryResponseCache implements ResponseCache {
  private readonly entries = new Map<string, { value: CachedResponse; expiresAtInMs: number }>();

  constructor(private readonly clock: Clock) {}

  async get(key: string): Promise<CachedResponse | null> {
    assertCacheKey(key);
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    if (this.clock.nowInMs() >= entry.expiresAtInMs) {
      this.entries.delete(key);
      return null;
    }
    return { ...entry.value };
  }

  async set(key: string, value: CachedResponse, ttlInMs: number): Promise<void> {
    assertCacheKey(key);
    if (!(ttlInMs > 0) || encodeCachedBody(value.body) === null) return;
    this.entries.set(key, { value: { ...value }, expiresAtInMs: this.clock.nowInMs() + ttlInMs });
  }

  /** For tests: how many entries are held (expired ones included until read). */
  get size(): number {
    return this.entries.size;
  }
}
