import { describe, expect, it } from "vitest";
import { type CacheableRequest, cacheKeyFor, isCacheable } from "../../../src/core/cache/cacheKeyFor.js";
import { DATA_CLASSES } from "../../../src/core/policy/schema.js";

const secret = new TextEncoder().encode("a-test-secret-of-32-bytes-length");
const otherSecret = new TextEncoder().encode("another-secret-of-32-bytes-lengt");

function request(overrides: Partial<CacheableRequest> = {}, body: Record<string, unknown> = {}): CacheableRequest {
  return {
    projectId: "docs-bot",
    cache: { ttlSeconds: 300 },
    dataClass: "public",
    dlpFindingCount: 0,
    deployment: "gpt-4o-2024-08-06",
    body: { model: "gpt-4o", messages: [{ role: "user", content: "What is the capital of France?" }], temperature: 0, ...body },
    ...overrides,
  };
}

describe("isCacheable", () => {
  it("accepts a public, deterministic, text-only request with the project's TTL", () => {
    expect(isCacheable(request())).toEqual({ cacheable: true, ttlInMs: 300_000 });
    expect(isCacheable(request({}, { n: 1, stream: false, seed: 7, top_p: 1 }))).toEqual({ cacheable: true, ttlInMs: 300_000 });
    expect(isCacheable(request({}, { messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] })).cacheable).toBe(true);
  });

  it("refuses every class but public", () => {
    for (const dataClass of DATA_CLASSES.filter((value) => value !== "public")) {
      expect(isCacheable(request({ dataClass }))).toEqual({ cacheable: false, reason: "not_public" });
    }
  });

  it("refuses when DLP found anything, or the project has no cache block", () => {
    expect(isCacheable(request({ dlpFindingCount: 1 }))).toEqual({ cacheable: false, reason: "dlp_findings" });
    expect(isCacheable(request({ cache: undefined }))).toEqual({ cacheable: false, reason: "cache_disabled" });
  });

  it.each([
    [{ temperature: undefined }, "not_deterministic"],
    [{ temperature: 0.2 }, "not_deterministic"],
    [{ temperature: "0" }, "not_deterministic"],
    [{ n: 2 }, "multiple_choices"],
    [{ stream: true }, "stream"],
    [{ tools: [{ type: "function", function: { name: "send_email" } }] }, "tools"],
    [{ functions: [{ name: "f" }] }, "tools"],
    [{ tool_choice: "none" }, "tools"],
    [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] }, "non_text_content"],
    [{ messages: "not a list" }, "non_text_content"],
  ])("refuses %j (%s)", (body, reason) => {
    expect(isCacheable(request({}, body))).toEqual({ cacheable: false, reason });
  });
});

describe("cacheKeyFor", () => {
  it("is a stable HMAC-SHA256 hex digest, independent of key order in the body", () => {
    const a = cacheKeyFor(request({}, { temperature: 0, max_tokens: 50 }), secret);
    const b = cacheKeyFor({ ...request(), body: { max_tokens: 50, temperature: 0, messages: [{ content: "What is the capital of France?", role: "user" }], model: "gpt-4o" } }, secret);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });

  it("differs when anything that shapes the answer differs", () => {
    const base = cacheKeyFor(request(), secret);
    const variants = [
      cacheKeyFor(request({ projectId: "other-project" }), secret),
      cacheKeyFor(request({ deployment: "gpt-4o-2025" }), secret),
      cacheKeyFor(request({}, { model: "gpt-4o-mini" }), secret),
      cacheKeyFor(request({}, { messages: [{ role: "user", content: "What is the capital of Spain?" }] }), secret),
      cacheKeyFor(request({}, { max_tokens: 10 }), secret),
      cacheKeyFor(request(), otherSecret),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it("ignores fields that do not shape the answer (stream false, n 1, user)", () => {
    const base = cacheKeyFor(request(), secret);
    expect(cacheKeyFor(request({}, { stream: false, n: 1, user: "end-user-42" }), secret)).toBe(base);
  });

  it("is null when the request is not cacheable", () => {
    expect(cacheKeyFor(request({ dataClass: "pii" }), secret)).toBeNull();
    expect(cacheKeyFor(request({ dlpFindingCount: 2 }), secret)).toBeNull();
    expect(cacheKeyFor(request({}, { temperature: 1 }), secret)).toBeNull();
  });

  it("refuses a short secret", () => {
    expect(() => cacheKeyFor(request(), new Uint8Array(8))).toThrow(/16 bytes/);
  });
});
