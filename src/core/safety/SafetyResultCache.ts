import { createHmac } from "node:crypto";
import { type Clock } from "../clock.js";

export interface SafetyResultCacheOptions {
  /** HMAC key: entries are found by HMAC-SHA256 of the text under it, so the cache never holds text. */
  readonly key: Uint8Array;
  readonly clock: Clock;
  readonly maxEntries?: number;
  readonly ttlInMs?: number;
}

/**
 * Content-safety results for texts seen lately (repeated system prompts, retried requests), per
 * instance. Keys are HMACs of the texts, values are verdict data (booleans, severities, ids).
 * Least recently used entries go first; an entry older than the TTL is a miss.
 */
export class SafetyResultCache {
  private readonly entries = new Map<string, { readonly value: unknown; readonly expiresAtInMs: number }>();
  private readonly maxEntries: number;
  private readonly ttlInMs: number;

  constructor(private readonly options: SafetyResultCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlInMs = options.ttlInMs ?? 10 * 60_000;
  }

  /** The cache key of a call: its kind, its parameters and its texts, each separated so no two inputs collide. */
  keyOf(kind: string, parts: readonly string[]): string {
    const hmac = createHmac("sha256", this.options.key).update(kind);
    for (const part of parts) hmac.update("\u0000").update(String(part.length)).update(":").update(part);
    return hmac.digest("base64url");
  }

  get<T>(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAtInMs <= this.options.clock.nowInMs()) return undefined;
    this.entries.set(key, entry);
    return entry.value as T;
  }

  set(key: string, value: unknown): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAtInMs: this.options.clock.nowInMs() + this.ttlInMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
