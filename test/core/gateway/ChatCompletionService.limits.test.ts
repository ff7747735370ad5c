import { describe, expect, it, vi } from "vitest";
import { estimatePromptTokens } from "../../../src/core/limits/estimatePromptTokens.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { type Harness, CARD, gatewayHarness, jsonResponse, onlyEvent, refusalOf } from "./gatewayHarness.js";

const failEverywhere = (h: Harness): void => {
  for (const id of ["eu-west-std", "eu-west-zdr", "eu-north-zdr"]) h.provider.onEndpoint(id, FakeCompletionProvider.fail("server_error", { status: 500 }));
};
const healEverywhere = (h: Harness): void => {
  for (const id of ["eu-west-std", "eu-west-zdr", "eu-north-zdr"]) h.provider.onEndpoint(id, null);
};
const RESERVED_FOR_HELLO = estimatePromptTokens("gpt-4o-mini", [{ role: "user", content: "hello" }]) + 50;

describe("ChatCompletionService: limits", () => {
  it("sends x-ratelimit-* headers with a served completion", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 5, tokensPerMinute: 10_000 } } });
    const response = jsonResponse(await h.service.handle(h.request()));
    expect(response.headers).toMatchObject({
      "x-ratelimit-limit-requests": "5",
      "x-ratelimit-remaining-requests": "4",
      "x-ratelimit-reset-requests": "45s",
      "x-ratelimit-limit-tokens": "10000",
      "x-ratelimit-remaining-tokens": String(10_000 - RESERVED_FOR_HELLO),
      "x-ratelimit-reset-tokens": "45s",
    });
  });

  it("refuses past the limit with 429, retry-after and the rate-limit headers, without calling upstream", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 1 } } });
    await h.service.handle(h.request());
    const error = await refusalOf(h.service.handle(h.request()));
    expect([error.status, error.type, error.code]).toEqual([429, "rate_limit_error", "rate_limit_exceeded"]);
    expect(error.headers).toMatchObject({ "retry-after": "45", "retry-after-ms": "45000", "x-ratelimit-limit-requests": "1", "x-ratelimit-remaining-requests": "0" });
    expect(h.provider.calls).toHaveLength(1);
    h.clock.advance(45_000);
    expect(jsonResponse(await h.service.handle(h.request())).status).toBe(200);
  });

  it("releases the reservation when the upstream fails, so the slot and the tokens are not lost", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 1, tokensPerMinute: 10_000 } } });
    failEverywhere(h);
    const failed = await refusalOf(h.service.handle(h.request()));
    expect(failed.code).toBe("no_compliant_endpoint");
    expect(h.provider.calls).toHaveLength(3);
    healEverywhere(h);
    const response = jsonResponse(await h.service.handle(h.request()));
    expect(response.status).toBe(200);
    expect(response.headers["x-ratelimit-remaining-requests"]).toBe("0");
    expect(response.headers["x-ratelimit-remaining-tokens"]).toBe(String(10_000 - RESERVED_FOR_HELLO));
  });

  it("releases the reservation when the upstream refuses the request (a fatal error)", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 1 } } });
    h.provider.next(FakeCompletionProvider.fail("fatal", { status: 400 }));
    await expect(h.service.handle(h.request())).rejects.toThrow();
    expect(h.provider.calls).toHaveLength(1);
    expect(jsonResponse(await h.service.handle(h.request())).status).toBe(200);
  });

  it("turns an upstream 400 into a 4xx PalisadeError, not an unknown error (which the HTTP layer answers with 500)", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.fail("fatal", { status: 400 }));
    const error = await refusalOf(h.service.handle(h.request()));
    expect(error.status).toBeGreaterThanOrEqual(400);
    expect(error.status).toBeLessThan(500);
    expect(onlyEvent(h.audit.events, "api_call")).toMatchObject({ status: "blocked", httpStatus: error.status, reason: error.code });
  });

  it("settles with the usage the upstream reported, replacing the reservation", async () => {
    const h = await gatewayHarness({ project: { limits: { tokensPerMinute: 10_000 } } });
    h.provider.next(FakeCompletionProvider.answer("first", { promptTokens: 30, cachedPromptTokens: 0, completionTokens: 11 }));
    const first = jsonResponse(await h.service.handle(h.request()));
    const second = jsonResponse(await h.service.handle(h.request()));
    expect(Number(first.headers["x-ratelimit-remaining-tokens"])).toBe(10_000 - RESERVED_FOR_HELLO);
    expect(Number(second.headers["x-ratelimit-remaining-tokens"])).toBe(10_000 - 41 - RESERVED_FOR_HELLO);
  });

  it("settles at the reservation when the upstream reports no usage (the safe side)", async () => {
    const h = await gatewayHarness({ project: { limits: { tokensPerMinute: 10_000 } } });
    h.provider.next(FakeCompletionProvider.answer("first", null));
    await h.service.handle(h.request());
    const second = jsonResponse(await h.service.handle(h.request()));
    expect(Number(second.headers["x-ratelimit-remaining-tokens"])).toBe(10_000 - 2 * RESERVED_FOR_HELLO);
    const event = h.audit.events.find((candidate) => candidate.type === "api_call");
    expect(event?.tokens).toBeUndefined();
    expect(event?.costUsd).toBeGreaterThan(0);
  });

  it("publishes a budget_warning with the api_call when a settlement crosses the warning threshold", async () => {
    const h = await gatewayHarness({ project: { budget: { dailyUsd: 0.00001, warnAtFraction: 0.8 } } });
    h.provider.next(FakeCompletionProvider.answer("costly", { promptTokens: 20, cachedPromptTokens: 0, completionTokens: 10 }));
    await h.service.handle(h.request({ extraBody: { max_tokens: 10 } }));
    expect(h.audit.batches.map((batch) => batch.map((event) => event.type))).toEqual([["request_admitted"], ["api_call", "budget_warning"]]);
    expect(onlyEvent(h.audit.events, "budget_warning")).toMatchObject({ project: "acme", reason: "budget_threshold", details: { period: "day", fraction: 0.8 } });
  });
});

describe("ChatCompletionService: usage written in rounds", () => {
  it("publishes a budget_warning crossed by the timed write, and keeps it until it is published", async () => {
    const h = await gatewayHarness({ project: { budget: { dailyUsd: 0.00001, warnAtFraction: 0.8 } }, limits: { settleEveryInMs: 1000 } });
    h.provider.next(FakeCompletionProvider.answer("costly", { promptTokens: 20, cachedPromptTokens: 0, completionTokens: 10 }));
    await h.service.handle(h.request({ extraBody: { max_tokens: 10 } }));
    // The settlement waits for the round: the request's own batch has no warning yet.
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted", "api_call"]);
    h.audit.failNext(1);
    h.clock.advance(1000);
    await expect(h.service.flushUsage()).rejects.toThrow(/retried on the next flush/);
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted", "api_call"]);
    await h.service.flushUsage();
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted", "api_call", "budget_warning"]);
    expect(onlyEvent(h.audit.events, "budget_warning")).toMatchObject({ project: "acme", reason: "budget_threshold", details: { period: "day", fraction: 0.8 } });
    await h.service.flushUsage();
    expect(h.audit.events.filter((event) => event.type === "budget_warning")).toHaveLength(1);
  });
});

describe("ChatCompletionService: an audit trail that cannot be written", () => {
  it("fail_closed: an admission that cannot be recorded refuses with 503 before any upstream call", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.answer("the secret answer"));
    h.audit.failAlways();
    const error = await refusalOf(h.service.handle(h.request()));
    expect([error.status, error.type, error.code]).toEqual([503, "service_unavailable_error", "audit_unavailable"]);
    expect(error.headers["retry-after"]).toBe("5");
    // Nothing was spent without a record: the upstream was never called, and the reservation is back.
    expect(h.provider.calls).toHaveLength(0);
    expect(h.publisherProjects.every((project) => project === "acme")).toBe(true);
  });

  it("fail_closed: an outcome that cannot be recorded refuses with 503, and the refusal is recorded after the admission", async () => {
    const h = await gatewayHarness();
    h.provider.next(FakeCompletionProvider.answer("the secret answer"));
    h.audit.failNextWhere((events) => events.some((event) => event.type === "api_call" && event.status === "success"));
    const error = await refusalOf(h.service.handle(h.request()));
    expect([error.status, error.code]).toEqual([503, "audit_unavailable"]);
    expect(error.message).not.toContain("the secret answer");
    expect(h.provider.calls).toHaveLength(1);
    const [admitted, refused] = h.audit.events;
    expect(h.audit.events.map((event) => [event.type, event.status])).toEqual([
      ["request_admitted", "success"],
      ["api_call", "error"],
    ]);
    expect(refused).toMatchObject({ reason: "audit_unavailable", httpStatus: 503, details: { admissionEventId: admitted?.eventId, endpointId: "eu-west-std" } });
  });

  it("never leaves a success in the chain for a request the caller saw fail (the broker kept an outcome it did not acknowledge)", async () => {
    const h = await gatewayHarness();
    h.audit.failNextWhere((events) => events.some((event) => event.type === "api_call" && event.status === "success"), { store: true });
    const error = await refusalOf(h.service.handle(h.request()));
    expect(error.code).toBe("audit_unavailable");
    const success = h.audit.events.find((event) => event.type === "api_call" && event.status === "success");
    const correction = h.audit.events.find((event) => event.type === "api_call" && event.status === "error");
    expect(success).toBeDefined();
    expect(correction).toMatchObject({ reason: "audit_unavailable", requestId: success?.requestId, details: { supersedes: success?.eventId } });
  });

  it("fail_closed during an outage: the correction of an unacknowledged outcome goes to the refusal fallback (the outbox), so the chain still gets it", async () => {
    const h = await gatewayHarness({ refusalFallback: true });
    // The broker keeps the success but its acknowledgement is lost; then Service Bus stays away.
    h.audit.failNextWhere((events) => {
      const outcome = events.some((event) => event.type === "api_call" && event.status === "success");
      if (outcome) queueMicrotask(() => h.audit.failAlways());
      return outcome;
    }, { store: true });
    const error = await refusalOf(h.service.handle(h.request()));
    expect(error.code).toBe("audit_unavailable");
    const success = h.audit.events.find((event) => event.type === "api_call" && event.status === "success");
    expect(success).toBeDefined();
    expect(h.audit.events.filter((event) => event.type === "api_call" && event.status === "error")).toEqual([]);
    const correction = h.refusalFallback?.events.find((event) => event.type === "api_call" && event.status === "error");
    expect(correction).toMatchObject({ reason: "audit_unavailable", requestId: success?.requestId, details: { supersedes: success?.eventId } });
    expect(h.logger.lines.filter((line) => line.message.includes("refused request could not be published"))).toEqual([]);
  });

  it("outbox mode: the admission is published while the upstream answers, and the answer waits for it", async () => {
    const h = await gatewayHarness({ project: { auditOnPublishFailure: "outbox" } });
    let admissionSettled = false;
    const published = h.audit.publish.bind(h.audit);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    h.audit.publish = async (events) => {
      if (events.some((event) => event.type === "request_admitted")) {
        await gate;
        admissionSettled = true;
      }
      return published(events);
    };
    const pending = h.service.handle(h.request());
    // The upstream is called while the admission is still on its way...
    await vi.waitFor(() => expect(h.provider.calls).toHaveLength(1));
    expect(admissionSettled).toBe(false);
    let answered = false;
    void pending.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // ...and the answer is not released before the admission is durable.
    expect(answered).toBe(false);
    release();
    expect(jsonResponse(await pending).status).toBe(200);
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted", "api_call"]);
  });

  it("outbox mode: an admission that cannot be stored aborts the call it overlaps; fail_closed calls only once it is durable, with nothing to abort", async () => {
    const outbox = await gatewayHarness({ project: { auditOnPublishFailure: "outbox" } });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const published = outbox.audit.publish.bind(outbox.audit);
    outbox.audit.publish = async (events) => {
      if (events.some((event) => event.type === "request_admitted")) {
        await gate;
        throw new Error("audit broker unavailable");
      }
      return published(events);
    };
    const pending = refusalOf(outbox.service.handle(outbox.request()));
    await vi.waitFor(() => expect(outbox.provider.calls).toHaveLength(1));
    const signal = outbox.provider.calls[0]?.options.abortSignal;
    expect(signal?.aborted).toBe(false);
    release();
    expect((await pending).code).toBe("audit_unavailable");
    expect(signal?.aborted).toBe(true);

    const failClosed = await gatewayHarness({ project: { auditOnPublishFailure: "fail_closed" } });
    expect(jsonResponse(await failClosed.service.handle(failClosed.request())).status).toBe(200);
    expect(failClosed.provider.calls[0]?.options.abortSignal).toBeUndefined();
  });

  it("does not cache a completion whose audit event could not be written", async () => {
    const h = await gatewayHarness();
    const publicRequest = { dataClassHeader: "public", extraBody: { temperature: 0 } } as const;
    h.audit.failNextWhere((events) => events.some((event) => event.type === "api_call"));
    await refusalOf(h.service.handle(h.request(publicRequest)));
    expect(h.cache.size).toBe(0);
    const response = jsonResponse(await h.service.handle(h.request(publicRequest)));
    expect(response.headers["x-palisade-cache"]).toBe("miss");
    expect(h.provider.calls).toHaveLength(2);
  });

  it("does not serve a cache hit whose audit event could not be written", async () => {
    const h = await gatewayHarness();
    const publicRequest = { dataClassHeader: "public", extraBody: { temperature: 0 } } as const;
    await h.service.handle(h.request(publicRequest));
    h.audit.failNext(1);
    const error = await refusalOf(h.service.handle(h.request(publicRequest)));
    expect(error.code).toBe("audit_unavailable");
  });
});

describe("ChatCompletionService: the response cache", () => {
  const publicRequest = { dataClassHeader: "public", extraBody: { temperature: 0 } } as const;

  it("serves a public deterministic request from the cache the second time", async () => {
    const h = await gatewayHarness();
    const first = jsonResponse(await h.service.handle(h.request(publicRequest)));
    expect(first.headers["x-palisade-cache"]).toBe("miss");
    h.clock.advance(5_000);
    const second = jsonResponse(await h.service.handle(h.request(publicRequest)));
    expect(second.headers).toMatchObject({ "x-palisade-cache": "hit", age: "5", "x-palisade-region": "westeurope", "x-palisade-endpoint-class": "standard", "x-palisade-classification": "public" });
    expect(second.body).toEqual(first.body);
    expect(h.provider.calls).toHaveLength(1);
    const hit = h.audit.events.at(-1);
    expect(hit).toMatchObject({ type: "api_call", status: "success", endpointId: "eu-west-std", tokens: { input: 0, output: 0 }, costUsd: 0, details: { cache: "hit" } });
  });

  it("misses again after the project's TTL", async () => {
    const h = await gatewayHarness();
    await h.service.handle(h.request(publicRequest));
    h.clock.advance(60_000);
    const again = jsonResponse(await h.service.handle(h.request(publicRequest)));
    expect(again.headers["x-palisade-cache"]).toBe("miss");
    expect(h.provider.calls).toHaveLength(2);
  });

  it("keys on the prompt: another question is a miss", async () => {
    const h = await gatewayHarness();
    await h.service.handle(h.request(publicRequest));
    const other = jsonResponse(await h.service.handle(h.request({ ...publicRequest, content: "something else" })));
    expect(other.headers["x-palisade-cache"]).toBe("miss");
  });

  it.each([
    ["internal (the project default)", {}],
    ["declared pii", { dataClassHeader: "pii" }],
    ["not deterministic", { dataClassHeader: "public", extraBody: { temperature: 0.7 } }],
  ] as const)("never caches a request that is %s", async (_label, overrides) => {
    const h = await gatewayHarness();
    const request = { extraBody: { temperature: 0 }, ...overrides };
    const first = jsonResponse(await h.service.handle(h.request(request)));
    const second = jsonResponse(await h.service.handle(h.request(request)));
    expect(first.headers["x-palisade-cache"]).toBeUndefined();
    expect(second.headers["x-palisade-cache"]).toBeUndefined();
    expect(h.provider.calls).toHaveLength(2);
    expect(h.cache.size).toBe(0);
  });

  it("never caches a public request in which DLP found something", async () => {
    const h = await gatewayHarness({ project: { dlp: { input: { public: "redact" } } } });
    const request = { ...publicRequest, content: `card ${CARD}` };
    await h.service.handle(h.request(request));
    const second = jsonResponse(await h.service.handle(h.request(request)));
    expect(second.headers["x-palisade-cache"]).toBeUndefined();
    expect(h.provider.calls).toHaveLength(2);
    expect(h.cache.size).toBe(0);
  });

  it("treats a cache that cannot be read as a miss, and says so in the log only", async () => {
    const h = await gatewayHarness();
    h.cache.get = async () => {
      throw new Error("table storage unreachable");
    };
    const response = jsonResponse(await h.service.handle(h.request(publicRequest)));
    expect(response.status).toBe(200);
    expect(response.headers["x-palisade-cache"]).toBe("miss");
    expect(h.logger.lines.some((line) => line.level === "warn" && /cache/.test(line.message))).toBe(true);
  });

  it("does not cache for a project without a cache block", async () => {
    const h = await gatewayHarness({ project: { cache: undefined } });
    await h.service.handle(h.request(publicRequest));
    await h.service.handle(h.request(publicRequest));
    expect(h.provider.calls).toHaveLength(2);
  });
});
