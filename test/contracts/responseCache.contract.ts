import { describe, expect, it } from "vitest";
import { type ManualClock } from "../../src/core/clock.js";
import { type CachedResponse, MAX_CACHED_BODY_BYTES, type ResponseCache } from "../../src/core/cache/ResponseCache.js";

export interface ResponseCacheHarness {
  readonly cache: ResponseCache;
  readonly clock: ManualClock;
}

let counter = 0;
/** A fresh hex key per test, so suites sharing one table never collide. */
function freshKey(): string {
  counter += 1;
  return `${Date.now().toString(16)}${counter.toString(16).padStart(8, "0")}`.padEnd(64, "a");
}

function response(overrides: Partial<CachedResponse> = {}): CachedResponse {
  return {
    body: JSON.stringify({ id: "chatcmpl-1", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "Grüße, 世界 👋" } }] }),
    contentType: "application/json",
    endpointId: "weu-std",
    region: "westeurope",
    endpointClass: "standard",
    createdAtInMs: Date.UTC(2026, 0, 1),
    ...overrides,
  };
}

export function describeResponseCacheContract(label: string, factory: () => Promise<ResponseCacheHarness>): void {
  describe(`ResponseCache contract: ${label}`, () => {
    it("returns null for a key never set", async () => {
      const { cache } = await factory();
      await expect(cache.get(freshKey())).resolves.toBeNull();
    });

    it("returns what was set, byte for byte, including non-ASCII text", async () => {
      const { cache } = await factory();
      const key = freshKey();
      const value = response();
      await cache.set(key, value, 60_000);
      await expect(cache.get(key)).resolves.toEqual(value);
    });

    it("keeps keys apart and lets a later set replace an earlier one", async () => {
      const { cache } = await factory();
      const first = freshKey();
      const second = freshKey();
      await cache.set(first, response({ body: '{"n":1}' }), 60_000);
      await cache.set(second, response({ body: '{"n":2}' }), 60_000);
      await cache.set(first, response({ body: '{"n":3}', region: "northeurope" }), 60_000);
      expect((await cache.get(first))?.body).toBe('{"n":3}');
      expect((await cache.get(first))?.region).toBe("northeurope");
      expect((await cache.get(second))?.body).toBe('{"n":2}');
    });

    it("serves an entry until its TTL and never after", async () => {
      const { cache, clock } = await factory();
      const key = freshKey();
      await cache.set(key, response(), 10_000);
      clock.advance(9_999);
      expect(await cache.get(key)).not.toBeNull();
      clock.advance(1);
      await expect(cache.get(key)).resolves.toBeNull();
      // A new set after expiry works again.
      await cache.set(key, response({ body: "{}" }), 10_000);
      expect((await cache.get(key))?.body).toBe("{}");
    });

    it("does not cache a body over the size limit, and caches one exactly at it", async () => {
      const { cache } = await factory();
      const tooBig = freshKey();
      const atLimit = freshKey();
      await cache.set(tooBig, response({ body: "x".repeat(MAX_CACHED_BODY_BYTES + 1) }), 60_000);
      await expect(cache.get(tooBig)).resolves.toBeNull();
      // Multi-byte characters count as their UTF-8 bytes.
      await cache.set(freshKey(), response({ body: "é".repeat(MAX_CACHED_BODY_BYTES / 2 + 1) }), 60_000);
      await cache.set(atLimit, response({ body: "y".repeat(MAX_CACHED_BODY_BYTES) }), 60_000);
      expect((await cache.get(atLimit))?.body.length).toBe(MAX_CACHED_BODY_BYTES);
    });

    it("stores nothing for a TTL of zero", async () => {
      const { cache } = await factory();
      const key = freshKey();
      await cache.set(key, response(), 0);
      await expect(cache.get(key)).resolves.toBeNull();
    });

    it("rejects keys that are not hex digests", async () => {
      const { cache } = await factory();
      await expect(cache.get("../etc/passwd")).rejects.toThrow(/hex/);
      await expect(cache.set("not a key", response(), 1_000)).rejects.toThrow(/hex/);
    });
  });
}
