import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type AuditEvent } from "../../../src/core/audit/AuditEvent.js";
import { priceUsage } from "../../../src/core/pricing/priceUsage.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { APP_IP, CARD, DIGEST_KEY, POLICY_VERSION, START_IN_MS, gatewayHarness, jsonResponse, onlyEvent, refusalOf } from "./gatewayHarness.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("ChatCompletionService: the trace context carried upstream", () => {
  it("sends the caller's tracestate with the traceparent, and none without a trace", async () => {
    const h = await gatewayHarness();
    await h.service.handle(h.request({ traceparent: TRACEPARENT, tracestate: "congo=t61rcWkgMzE" }));
    await h.service.handle(h.request());
    const [traced, untraced] = h.provider.calls;
    expect(traced?.options.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[\da-f]{16}-0[01]$/);
    expect(traced?.options.tracestate).toBe("congo=t61rcWkgMzE");
    expect(untraced?.options.tracestate).toBeUndefined();
  });
});

describe("ChatCompletionService: the api_call event of a served request", () => {
  it("publishes exactly one api_call event, in one batch, with usage, cost, where it was served and the policy version", async () => {
    const h = await gatewayHarness();
    const response = jsonResponse(await h.service.handle(h.request({ traceparent: TRACEPARENT })));
    expect(response.status).toBe(200);

    // The admission (before the call), then the outcome.
    expect(h.audit.batches.map((batch) => batch.map((event) => event.type))).toEqual([["request_admitted"], ["api_call"]]);
    const event = onlyEvent(h.audit.events, "api_call");
    const keyId = h.keys.app.split("_")[1];
    expect(event).toMatchObject({
      schemaVersion: 1,
      type: "api_call",
      status: "success",
      httpStatus: 200,
      project: "acme",
      environment: "dev",
      actor: { kind: "service-account", id: "app", keyId },
      model: "gpt-4o-mini",
      deployment: "mini",
      endpointId: "eu-west-std",
      region: "westeurope",
      classification: "internal",
      tokens: { input: 12, cachedInput: 0, output: 8 },
      costUsd: priceUsage({ inputPer1M: 0.15, outputPer1M: 0.6 }, { inputTokens: 12, outputTokens: 8 }),
      requestId: response.headers["x-request-id"],
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      policyVersion: POLICY_VERSION,
      ts: new Date(START_IN_MS).toISOString(),
      details: { attempts: 1, endpointClass: "standard" },
    });
    expect(event.costUsd).toBeGreaterThan(0);
    expect(event.dlpFindings).toBeUndefined();
    expect(event.reason).toBeUndefined();
    expect(h.publisherProjects).toEqual(["acme", "acme"]);
  });

  it("names an Entra user as the actor, and accepts a key in the api-key header", async () => {
    const h = await gatewayHarness();
    await h.service.handle(h.request({ authorization: "Bearer jwt.owner.sig" }));
    expect(onlyEvent(h.audit.events, "api_call").actor).toEqual({ kind: "user", id: "owner@example.com" });
    h.audit.clear();
    await h.service.handle(h.request({ authorization: null, apiKey: h.keys.app }));
    expect(onlyEvent(h.audit.events, "api_call").actor).toMatchObject({ kind: "service-account", id: "app" });
  });

  it("carries an HMAC of the prompt under the digest key, not a plain SHA-256 of it", async () => {
    const h = await gatewayHarness();
    await h.service.handle(h.request({ content: "what is the capital of France?" }));
    const digest = onlyEvent(h.audit.events, "api_call").contentDigest;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).toBe(createHmac("sha256", DIGEST_KEY).update("what is the capital of France?").update("\u0000").digest("hex"));
    expect(digest).not.toBe(createHash("sha256").update("what is the capital of France?").digest("hex"));
    expect(digest).not.toBe(createHash("sha256").update("what is the capital of France?\u0000").digest("hex"));
  });

  it("digests the prompt as sent upstream: redacted, never the value it hid", async () => {
    const h = await gatewayHarness();
    const prompt = `charge the card ${CARD} please`;
    await h.service.handle(h.request({ content: prompt }));
    const sent = (h.provider.calls[0]?.body.messages as { content: string }[] | undefined)?.[0]?.content ?? "";
    expect(sent).not.toContain(CARD);
    expect(sent).toContain("[CREDIT_CARD_1]");
    const digest = onlyEvent(h.audit.events, "api_call").contentDigest;
    expect(digest).toBe(createHmac("sha256", DIGEST_KEY).update(sent).update("\u0000").digest("hex"));
    expect(digest).not.toBe(createHmac("sha256", DIGEST_KEY).update(prompt).update("\u0000").digest("hex"));
  });

  it("leaves the digest out when no digest key is configured", async () => {
    const h = await gatewayHarness({ digestKey: null });
    await h.service.handle(h.request());
    expect(onlyEvent(h.audit.events, "api_call").contentDigest).toBeUndefined();
  });

  it("counts DLP findings by type, with the action, never the values", async () => {
    const h = await gatewayHarness();
    await h.service.handle(h.request({ content: `charge ${CARD} and mail jane.doe@example.org` }));
    const event = onlyEvent(h.audit.events, "api_call");
    expect(event.dlpFindings).toEqual({ CREDIT_CARD: 1, EMAIL_ADDRESS: 1 });
    expect(event.dlpAction).toBe("redact");
    const serialised = JSON.stringify(h.audit.events);
    expect(serialised).not.toContain("4111");
    expect(serialised).not.toContain("jane.doe");
  });

  it("records a failover as fallback_triggered (both regions) and then the api_call, in one batch", async () => {
    const h = await gatewayHarness();
    h.provider.onEndpoint("eu-west-zdr", FakeCompletionProvider.fail("server_error", { status: 500 }));
    const response = jsonResponse(await h.service.handle(h.request({ dataClassHeader: "pii" })));
    expect(response.headers["x-palisade-region"]).toBe("swedencentral");
    expect(h.provider.calls.map((call) => call.endpointId)).toEqual(["eu-west-zdr", "eu-north-zdr"]);

    expect(h.audit.batches.map((batch) => batch.map((event) => event.type))).toEqual([["request_admitted"], ["fallback_triggered", "api_call"]]);
    const fallback = onlyEvent(h.audit.events, "fallback_triggered");
    expect(fallback).toMatchObject({
      project: "acme",
      reason: "server_error",
      classification: "pii",
      details: { fromEndpoint: "eu-west-zdr", fromRegion: "westeurope", toEndpoint: "eu-north-zdr", toRegion: "swedencentral", residency: "eu" },
    });
    expect(onlyEvent(h.audit.events, "api_call")).toMatchObject({ endpointId: "eu-north-zdr", region: "swedencentral", status: "success", details: { attempts: 2, endpointClass: "zdr" } });
  });

  it("records every compliant endpoint failing as one residency_blocked refusal after the fallbacks", async () => {
    const h = await gatewayHarness();
    h.provider.onEndpoint("eu-west-zdr", FakeCompletionProvider.fail("server_error", { status: 500 }));
    h.provider.onEndpoint("eu-north-zdr", FakeCompletionProvider.fail("connection"));
    const error = await refusalOf(h.service.handle(h.request({ dataClassHeader: "pii" })));
    expect([error.status, error.code]).toEqual([503, "no_compliant_endpoint"]);
    expect(error.message).toMatch(/residency "eu"/);
    expect(h.provider.calls.every((call) => call.region !== "eastus")).toBe(true);
    expect(h.audit.events.map((event) => event.type)).toEqual(["request_admitted", "fallback_triggered", "residency_blocked"]);
    expect(onlyEvent(h.audit.events, "residency_blocked")).toMatchObject({ status: "error", httpStatus: 503, reason: "no_compliant_endpoint", project: "acme" });
  });
});

describe("ChatCompletionService: one refusal event per refused request", () => {
  const expectOneRefusal = (events: readonly AuditEvent[], type: AuditEvent["type"], reason: string): AuditEvent => {
    expect(events.map((event) => [event.type, event.reason])).toEqual([[type, reason]]);
    const [event] = events;
    if (event === undefined) throw new Error("unreachable");
    expect(event.policyVersion).toBe(POLICY_VERSION);
    return event;
  };

  it("auth_failed for a missing key", async () => {
    const h = await gatewayHarness();
    const error = await refusalOf(h.service.handle(h.request({ authorization: null })));
    expect([error.status, error.code]).toEqual([401, "missing_api_key"]);
    const event = expectOneRefusal(h.audit.events, "auth_failed", "missing_api_key");
    expect(event).toMatchObject({ status: "blocked", httpStatus: 401, actor: { kind: "anonymous" }, project: "_system" });
    expect(h.provider.calls).toHaveLength(0);
  });

  it("auth_failed for an unknown key or a wrong secret", async () => {
    const h = await gatewayHarness();
    const [, keyId] = h.keys.app.split("_");
    for (const key of [`pal_${"a".repeat(16)}_${"b".repeat(52)}`, `pal_${keyId}_${"b".repeat(52)}`, "not-a-key"]) {
      h.audit.clear();
      const error = await refusalOf(h.service.handle(h.request({ authorization: `Bearer ${key}` })));
      expect(error.code).toBe("invalid_api_key");
      expectOneRefusal(h.audit.events, "auth_failed", "invalid_api_key");
      expect(JSON.stringify(h.audit.events)).not.toContain(key);
    }
  });

  it("auth_failed for an expired key", async () => {
    const h = await gatewayHarness();
    h.clock.advance(86_400_000 + 1);
    const error = await refusalOf(h.service.handle(h.request()));
    expect(error.code).toBe("expired_api_key");
    expectOneRefusal(h.audit.events, "auth_failed", "expired_api_key");
  });

  it("auth_failed for a revoked key", async () => {
    const h = await gatewayHarness();
    await h.service.handle(h.request());
    h.audit.clear();
    await h.apiKeys.revoke(h.keys.app.split("_")[1] ?? "");
    const error = await refusalOf(h.service.handle(h.request()));
    expect(error.code).toBe("revoked_api_key");
    expectOneRefusal(h.audit.events, "auth_failed", "revoked_api_key");
  });

  it("auth_failed for an Entra token that does not verify", async () => {
    const h = await gatewayHarness();
    const error = await refusalOf(h.service.handle(h.request({ authorization: "Bearer jwt.forged!.sig" })));
    expect(error.status).toBe(401);
    expectOneRefusal(h.audit.events, "auth_failed", error.code);
  });

  it.each([
    ["role (a reader)", { authorization: "Bearer jwt.reader.sig" }, "insufficient_role"],
    ["membership (another project's user)", { authorization: "Bearer jwt.outsider.sig", requestedProject: "acme" }, "not_a_project_member"],
    ["membership (a key of acme naming another project)", { requestedProject: "other" }, "not_a_project_member"],
  ] as const)("policy_violation for %s", async (_label, overrides, code) => {
    const h = await gatewayHarness();
    const error = await refusalOf(h.service.handle(h.request(overrides)));
    expect([error.status, error.code]).toEqual([403, code]);
    expect(expectOneRefusal(h.audit.events, "policy_violation", code)).toMatchObject({ status: "blocked", httpStatus: 403 });
    expect(h.provider.calls).toHaveLength(0);
  });

  it("policy_violation for a missing permission, an address outside the allowlist and a model not allowed", async () => {
    const h = await gatewayHarness();
    const cases = [
      [{ authorization: `Bearer ${h.keys.lister}` }, "missing_permission", "lister"],
      [{ clientIp: "192.168.7.7" }, "ip_not_allowed", "app"],
      [{ clientIp: null }, "ip_not_allowed", "app"],
      [{ extraBody: { model: "gpt-4o" } }, "model_not_allowed", "app"],
    ] as const;
    for (const [overrides, code, account] of cases) {
      h.audit.clear();
      const error = await refusalOf(h.service.handle(h.request(overrides)));
      expect([error.status, error.code]).toEqual([403, code]);
      const event = expectOneRefusal(h.audit.events, "policy_violation", code);
      expect(event).toMatchObject({ project: "acme", actor: { kind: "service-account", id: account }, status: "blocked", httpStatus: 403 });
    }
    expect(h.provider.calls).toHaveLength(0);
  });

  it("pii_detected when the project blocks the data found, with counts by type and the action", async () => {
    const h = await gatewayHarness();
    const error = await refusalOf(h.service.handle(h.request({ dataClassHeader: "public", content: `my card is ${CARD}` })));
    expect([error.status, error.code]).toEqual([422, "sensitive_data_detected"]);
    const event = expectOneRefusal(h.audit.events, "pii_detected", "sensitive_data_detected");
    expect(event).toMatchObject({ status: "blocked", httpStatus: 422, project: "acme" });
    expect(h.provider.calls).toHaveLength(0);
    // What was blocked must be countable in the compliance summary (DLP findings by type).
    expect(event.dlpFindings).toEqual({ CREDIT_CARD: 1 });
    expect(event.dlpAction).toBe("block");
  });

  it("rate_limited when the per-minute request limit is used up", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 1 } } });
    await h.service.handle(h.request());
    h.audit.clear();
    const error = await refusalOf(h.service.handle(h.request()));
    expect([error.status, error.code]).toEqual([429, "rate_limit_exceeded"]);
    expect(expectOneRefusal(h.audit.events, "rate_limited", "rate_limit_exceeded")).toMatchObject({ project: "acme", status: "blocked", httpStatus: 429 });
    expect(h.provider.calls).toHaveLength(1);
  });

  it("budget_exceeded when the daily budget cannot hold the request", async () => {
    const h = await gatewayHarness({ project: { budget: { dailyUsd: 0.00001 } } });
    const error = await refusalOf(h.service.handle(h.request()));
    expect([error.status, error.code]).toEqual([429, "budget_exceeded"]);
    expect(expectOneRefusal(h.audit.events, "budget_exceeded", "budget_exceeded")).toMatchObject({ project: "acme", httpStatus: 429 });
    expect(h.provider.calls).toHaveLength(0);
  });

  it("residency_blocked when no endpoint in the project's residency may serve it", async () => {
    const h = await gatewayHarness();
    const error = await refusalOf(h.service.handle(h.request({ authorization: `Bearer ${h.keys.tokyo}`, clientIp: "203.0.113.9" })));
    expect([error.status, error.code]).toEqual([503, "no_compliant_endpoint"]);
    expect(error.message).toContain("apac");
    expect(expectOneRefusal(h.audit.events, "residency_blocked", "no_compliant_endpoint")).toMatchObject({ project: "tokyo", httpStatus: 503 });
    expect(h.provider.calls).toHaveLength(0);
  });

  it("a refusal whose event cannot be published is still refused with its own error", async () => {
    const h = await gatewayHarness();
    h.audit.failAlways();
    const error = await refusalOf(h.service.handle(h.request({ authorization: null })));
    expect(error.code).toBe("missing_api_key");
    expect(h.audit.attempts).toBe(1);
  });
});

describe("ChatCompletionService: audit events and logs never hold prompt text, detected values or keys", () => {
  it("finds none of the planted values in any event or log line across served and refused requests", async () => {
    const h = await gatewayHarness({ project: { limits: { requestsPerMinute: 6 } } });
    const phrase = "PLANTED-PHRASE-zebra-quasar";
    const ssn = "078-05-1120";
    const email = "planted.person@example.org";
    const secretKey = "sk-proj-PLANTEDabcdefghijklmnopqrstuvwxyz0123456789";
    const prompt = `${phrase} card ${CARD} ssn ${ssn} mail ${email} key ${secretKey}`;
    h.provider.next(FakeCompletionProvider.answer(`${phrase} your card ${CARD} again`));
    await h.service.handle(h.request({ content: prompt, traceparent: TRACEPARENT }));
    await refusalOf(h.service.handle(h.request({ content: prompt, dataClassHeader: "public" })));
    await refusalOf(h.service.handle(h.request({ content: prompt, clientIp: "192.168.1.1" })));
    await refusalOf(h.service.handle(h.request({ content: prompt, authorization: `Bearer ${h.keys.app.slice(0, -1)}x` })));
    h.provider.next(FakeCompletionProvider.fail("server_error"), FakeCompletionProvider.fail("server_error"), FakeCompletionProvider.fail("server_error"));
    await refusalOf(h.service.handle(h.request({ content: prompt })));
    expect(h.audit.events.length).toBeGreaterThanOrEqual(5);

    const recorded = JSON.stringify(h.audit.events) + JSON.stringify(h.logger.lines);
    const secretOfKey = h.keys.app.split("_")[2] ?? "";
    for (const planted of [phrase, "zebra", CARD, CARD.replace(/ /g, ""), "1111 1111", ssn, "078051120", email, secretKey, "PLANTED", h.keys.app, secretOfKey, APP_IP + " card"]) {
      expect(recorded, `leaked: ${planted}`).not.toContain(planted);
    }
    expect(secretOfKey).toHaveLength(52);
  });
});
