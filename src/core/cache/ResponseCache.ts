import { type EndpointClass } from "../policy/schema.js";

/** A completion kept for public, deterministic requests (see `isCacheable`). */
export interface CachedResponse {
  /** The response body exactly as sent to the first caller (JSON text). */
  readonly body: string;
  readonly contentType: string;
  /** Where it was originally served, for `x-palisade-region` / `x-palisade-endpoint-class`. */
  readonly endpointId: string;
  readonly region: string;
  readonly endpointClass: EndpointClass;
  /** When it was stored (for an `age` header). */
  readonly createdAtInMs: number;
}

export interface ResponseCacheOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * Port: a keyed store of completions with a time to live. Expiry is enforced on read against the
 * implementation's Clock, so an entry is never served after its TTL even if storage keeps it longer.
 * Bodies larger than `MAX_CACHED_BODY_BYTES` (UTF-8) are not stored: `set` succeeds and `get` misses.
 * Keys are `cacheKeyFor` output (lower-case hex). Storage errors are thrown; callers treat them as a miss.
 */
export interface ResponseCache {
  get(key: string, options?: ResponseCacheOptions): Promise<CachedResponse | null>;
  set(key: string, value: CachedResponse, ttlInMs: number, options?: ResponseCacheOptions): Promise<void>;
}

/** Table storage holds at most 64 KiB in one binary property; larger bodies are simply not cached. */
export const MAX_CACHED_BODY_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** The body as UTF-8, or null when it is too large to cache. */
export function encodeCachedBody(body: string): Uint8Array | null {
  const bytes = encoder.encode(body);
  return bytes.byteLength > MAX_CACHED_BODY_BYTES ? null : bytes;
}

/** Cache keys are hex digests; anything else is a programming error, not a miss. */
export function assertCacheKey(key: string): void {
  if (!/^[0-9a-f]{16,128}$/.test(key)) throw new RangeError("A response cache key must be 16 to 128 lower-case hex characters (use cacheKeyFor).");
}
