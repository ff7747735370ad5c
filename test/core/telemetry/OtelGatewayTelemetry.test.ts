import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT_SPAN_NAME } from "../../../src/adapters/telemetry/OtelGatewayTelemetry.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { CARD, OTHER_CARD, collect, gatewayHarness, onlyEvent, refusalOf } from "../gateway/gatewayHarness.js";
import { exported, pointsOf, spanNamed, telemetryFixture } from "./telemetryFixture.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN_ID}-01`;

let fixture = telemetryFixture();
afterEach(async () => {
  await fixture.shutdown();
  fixture = telemetryFixture();
});

const traced = (options: Parameters<typeof gatewayHarness>[0] = {}) => gatewayHarness({ ...options, telemetry: fixture.create });

describe("OtelGatewayTelemetry: the trace of a governed completion", () => {
  it("continues the caller's trace: one SERVER span with a child span per stage and a CLIENT span per attempt", async () => {
    const h = await traced();
    await h.service.handle(h.request({ traceparent: TRACEPARENT }));
    const spans = fixture.spans();
    const root = spanNamed(spans, ROOT_SPAN_NAME);
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(root.spanContext().traceId).toBe(TRACE_ID);
    expect(root.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID);

    const children = spans.filter((span) => span !== root);
    expect(children.map((span) => span.name).sort()).toEqual(
      // Two audit publishes: the admission before the call, the outcome after it.
      ["chat mini", "palisade.audit_publish", "palisade.audit_publish", "palisade.authenticate", "palisade.authorize", "palisade.inspect", "palisade.inspect_output", "palisade.limit", "palisade.route", "palisade.settle"].sort(),
    );
    for (const child of children) {
      expect(child.spanContext().traceId).toBe(TRACE_ID);
      expect(child.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    }
    expect(spanNamed(spans, "palisade.inspect").attributes["palisade.stage"]).toBe("inspect");
  });

  it("sends the attempt span's context upstream as traceparent, and records the trace id in the audit event", async () => {
    const h = await traced();
    await h.service.handle(h.request({ traceparent: TRACEPARENT }));
    const attempt = spanNamed(fixture.spans(), "chat mini");
    expect(attempt.kind).toBe(SpanKind.CLIENT);
    expect(h.provider.calls[0]?.options.traceparent).toBe(`00-${TRACE_ID}-${attempt.spanContext().spanId}-01`);
    expect(onlyEvent(h.audit.events, "api_call").traceId).toBe(TRACE_ID);
  });

  it("starts a new trace without a (valid) traceparent, and the audit event names it", async () => {
    const h = await traced();
    await h.service.handle(h.request({ traceparent: "00-zz-not-a-trace-01" }));
    const root = spanNamed(fixture.spans(), ROOT_SPAN_NAME);
    const traceId = root.spanContext().traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.parentSpanContext).toBeUndefined();
    expect(onlyEvent(h.audit.events, "api_call").traceId).toBe(traceId);
    expect(h.provider.calls[0]?.options.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it("describes a served request with GenAI and Palisade attributes", async () => {
    const h = await traced();
    await h.service.handle(h.request());
    const root = spanNamed(fixture.spans(), ROOT_SPAN_NAME);
    expect(root.attributes).toMatchObject({
      "gen_ai.system": "az.ai.openai",
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.response.model": "mini",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 8,
      "server.address": "eu-west-std.example.invalid",
      "palisade.project": "acme",
      "palisade.data_class": "internal",
      "palisade.endpoint_class": "standard",
      "palisade.region": "westeurope",
      "palisade.decision": "served",
      "http.response.status_code": 200,
      "palisade.attempts": 1,
    });
    expect(root.attributes["palisade.reason"]).toBeUndefined();
    expect(root.status.code).not.toBe(SpanStatusCode.ERROR);
    const attempt = spanNamed(fixture.spans(), "chat mini");
    expect(attempt.attributes).toMatchObject({ "gen_ai.system": "az.ai.openai", "server.address": "eu-west-std.example.invalid", "gen_ai.usage.input_tokens": 12, "palisade.attempt": 1 });
  });

  it("times spans and stage latencies on the Clock", async () => {
    const h = await traced();
    const original = h.provider.complete.bind(h.provider);
    h.provider.complete = async (...args) => {
      h.clock.advance(250);
      return original(...args);
    };
    await h.service.handle(h.request());
    const attempt = spanNamed(fixture.spans(), "chat mini");
    expect(attempt.duration).toEqual([0, 250_000_000]);
    const upstream = pointsOf(await fixture.points(), "palisade.stage.duration", { "palisade.stage": "upstream", "palisade.outcome": "ok" });
    expect(upstream.map((point) => [point.count, point.sum])).toEqual([[1, 250]]);
  });

  it("marks a refusal: blocked with its reason, the failing stage in error, findings counted by type", async () => {
    const h = await traced();
    const error = await refusalOf(h.service.handle(h.request({ content: `card ${CARD}`, dataClassHeader: "public" })));
    expect(error.code).toBe("sensitive_data_detected");
    const spans = fixture.spans();
    const root = spanNamed(spans, ROOT_SPAN_NAME);
    expect(root.attributes).toMatchObject({
      "palisade.decision": "blocked",
      "palisade.reason": "sensitive_data_detected",
      "http.response.status_code": 422,
      "palisade.dlp.findings.CREDIT_CARD": 1,
      "palisade.dlp.action": "block",
      "palisade.project": "acme",
    });
    expect(root.status).toEqual({ code: SpanStatusCode.ERROR, message: "sensitive_data_detected" });
    expect(spanNamed(spans, "palisade.inspect").status.code).toBe(SpanStatusCode.ERROR);
    expect(spans.some((span) => span.name === "chat mini")).toBe(false);
    // The refusal's own audit event is published in a stage span too.
    expect(spanNamed(spans, "palisade.audit_publish").status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it("an upstream failure is decision error; a failover leaves two attempt spans and an event on the root", async () => {
    const h = await traced();
    h.provider.onEndpoint("eu-west-std", FakeCompletionProvider.fail("server_error", { status: 500 }));
    await h.service.handle(h.request());
    const spans = fixture.spans();
    const attempts = spans.filter((span) => span.kind === SpanKind.CLIENT);
    expect(attempts.map((span) => [span.attributes["palisade.endpoint.id"], span.attributes["error.type"] ?? "ok"])).toEqual([
      ["eu-west-std", "server_error"],
      ["eu-west-zdr", "ok"],
    ]);
    const root = spanNamed(spans, ROOT_SPAN_NAME);
    expect(root.events.map((event) => [event.name, event.attributes?.["palisade.failover.to_endpoint"]])).toEqual([["palisade.failover", "eu-west-zdr"]]);
    expect(root.attributes["palisade.attempts"]).toBe(2);

    const points = await fixture.points();
    expect(pointsOf(points, "palisade.upstream.failovers", { "palisade.endpoint.id": "eu-west-std", "palisade.failover.to_endpoint": "eu-west-zdr", "palisade.reason": "server_error" })[0]?.value).toBe(1);
    expect(pointsOf(points, "palisade.upstream.attempts", { "palisade.endpoint.id": "eu-west-std", "palisade.outcome": "server_error" })[0]?.value).toBe(1);

    h.provider.onEndpoint("eu-west-zdr", FakeCompletionProvider.fail("server_error", { status: 500 }));
    h.provider.onEndpoint("eu-north-zdr", FakeCompletionProvider.fail("server_error", { status: 500 }));
    const error = await refusalOf(h.service.handle(h.request()));
    // Every compliant endpoint tried and failed: 503 no_compliant_endpoint.
    expect(error.status).toBe(503);
    const failed = fixture.spans().filter((span) => span.name === ROOT_SPAN_NAME)[1];
    expect(failed?.attributes).toMatchObject({ "palisade.decision": "error", "palisade.reason": "no_compliant_endpoint", "http.response.status_code": 503 });
  });

  it("keeps a streamed request's span open until the stream is over", async () => {
    const h = await traced();
    h.provider.next(FakeCompletionProvider.stream(["Hel", "lo"]));
    const response = await h.service.handle(h.request({ extraBody: { stream: true } }));
    if (response.kind !== "stream") throw new Error("expected a stream");
    expect(fixture.spans().some((span) => span.name === ROOT_SPAN_NAME)).toBe(false);
    await collect(response.events);
    const root = spanNamed(fixture.spans(), ROOT_SPAN_NAME);
    expect(root.attributes).toMatchObject({ "palisade.decision": "served", "palisade.streamed": true, "gen_ai.usage.output_tokens": 8 });
    expect(spanNamed(fixture.spans(), "palisade.inspect_output").parentSpanContext?.spanId).toBe(root.spanContext().spanId);
  });

  it("a cache hit is served from the cache, without an attempt", async () => {
    const h = await traced({ project: { defaultClassification: "public" } });
    const request = () => h.request({ extraBody: { temperature: 0 } });
    await h.service.handle(request());
    await h.service.handle(request());
    const roots = fixture.spans().filter((span) => span.name === ROOT_SPAN_NAME);
    expect(roots.map((span) => span.attributes["palisade.cache"])).toEqual(["miss", "hit"]);
    expect(spanNamed(fixture.spans().filter((span) => span.parentSpanContext?.spanId === roots[1]?.spanContext().spanId), "palisade.cache").attributes["palisade.stage"]).toBe("cache");
    expect(fixture.spans().filter((span) => span.kind === SpanKind.CLIENT)).toHaveLength(1);
  });
});

describe("OtelGatewayTelemetry: sampling", () => {
  it("traces the ratio's share of requests, never a caller's unsampled one, and counts them all", async () => {
    const draws = [0.05, 0.5, 0.09];
    const h = await gatewayHarness({ telemetry: fixture.createWith({ traceSampleRatio: 0.1, random: () => draws.shift() ?? 1 }) });
    await h.service.handle(h.request());
    await h.service.handle(h.request());
    await h.service.handle(h.request());
    expect(fixture.spans().filter((span) => span.name === ROOT_SPAN_NAME)).toHaveLength(2);
    // The caller's "not sampled" wins; its trace still reaches the upstream and the audit event as it came.
    const unsampled = `00-${TRACE_ID}-${CALLER_SPAN_ID}-00`;
    await h.service.handle(h.request({ traceparent: unsampled }));
    // Sampled by the caller, but its trace id falls outside the ratio (low 8 hex digits ~ 0.99).
    await h.service.handle(h.request({ traceparent: `00-4bf92f3577b34da6a3ce929dfd0e4736-${CALLER_SPAN_ID}-01` }));
    expect(fixture.spans().filter((span) => span.name === ROOT_SPAN_NAME)).toHaveLength(2);
    expect(h.provider.calls[3]?.options.traceparent).toBe(unsampled);
    expect(h.audit.events.filter((event) => event.type === "api_call")[3]?.traceId).toBe(TRACE_ID);
    expect(pointsOf(await fixture.points(), "palisade.requests", { "palisade.decision": "served" })[0]?.value).toBe(5);
  });
});

describe("OtelGatewayTelemetry: metrics", () => {
  it("counts requests, tokens and cost by project and model", async () => {
    const h = await traced();
    await h.service.handle(h.request());
    await h.service.handle(h.request());
    const points = await fixture.points();
    const scope = { "palisade.project": "acme", "gen_ai.request.model": "gpt-4o-mini" };
    expect(pointsOf(points, "palisade.requests", { ...scope, "palisade.decision": "served", "http.response.status_code": 200 })[0]?.value).toBe(2);
    expect(pointsOf(points, "palisade.tokens", { ...scope, "gen_ai.token.type": "input", "gen_ai.system": "az.ai.openai" })[0]?.value).toBe(24);
    expect(pointsOf(points, "palisade.tokens", { ...scope, "gen_ai.token.type": "output" })[0]?.value).toBe(16);
    const event = h.audit.events.find((candidate) => candidate.type === "api_call");
    expect(pointsOf(points, "palisade.cost", scope)[0]?.value).toBeCloseTo((event?.costUsd ?? 0) * 2, 12);
    const stages = new Set(pointsOf(points, "palisade.stage.duration").map((point) => point.attributes["palisade.stage"]));
    expect([...stages].sort()).toEqual(["audit_publish", "authenticate", "authorize", "inspect", "inspect_output", "limit", "route", "settle", "upstream"]);
    expect(pointsOf(points, "palisade.request.duration", { ...scope, "palisade.decision": "served" })[0]?.count).toBe(2);
  });

  it("counts DLP findings by type, direction and action", async () => {
    const h = await traced();
    h.provider.next(FakeCompletionProvider.answer(`Echo ${OTHER_CARD}`));
    await h.service.handle(h.request({ content: `my card ${CARD} and ${OTHER_CARD}` }));
    const points = await fixture.points();
    expect(pointsOf(points, "palisade.dlp.findings", { "palisade.dlp.entity_type": "CREDIT_CARD", "palisade.dlp.direction": "input", "palisade.dlp.action": "redact" })[0]?.value).toBe(2);
    // The model only saw placeholders, so its answer had nothing left to find... unless it made one up.
    const output = pointsOf(points, "palisade.dlp.findings", { "palisade.dlp.direction": "output" });
    expect(output.every((point) => point.attributes["palisade.dlp.action"] === "redact")).toBe(true);
  });

  it("counts rate-limit and budget rejections", async () => {
    const h = await traced({ project: { limits: { requestsPerMinute: 1 } } });
    await h.service.handle(h.request());
    expect((await refusalOf(h.service.handle(h.request()))).code).toBe("rate_limit_exceeded");
    const b = await gatewayHarness({ project: { budget: { dailyUsd: 0.00001 } }, telemetry: fixture.create });
    await b.service.handle(b.request()).catch(() => undefined);
    await refusalOf(b.service.handle(b.request()));
    const points = await fixture.points();
    expect(pointsOf(points, "palisade.limit.rejections", { "palisade.project": "acme", "palisade.limit.kind": "rate", "palisade.reason": "rate_limit_exceeded" })[0]?.value).toBe(1);
    expect(pointsOf(points, "palisade.limit.rejections", { "palisade.limit.kind": "budget", "palisade.reason": "budget_exceeded" })[0]?.value).toBeGreaterThanOrEqual(1);
    expect(pointsOf(points, "palisade.requests", { "palisade.decision": "blocked", "http.response.status_code": 429 })[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it("counts audit publish failures", async () => {
    const h = await traced();
    h.audit.failAlways();
    const error = await refusalOf(h.service.handle(h.request()));
    expect(error.code).toBe("audit_unavailable");
    const points = await fixture.points();
    expect(pointsOf(points, "palisade.audit.publish_failures", { "palisade.project": "acme" })[0]?.value).toBeGreaterThanOrEqual(1);
    expect(pointsOf(points, "palisade.requests", { "palisade.decision": "error", "palisade.reason": "audit_unavailable" })[0]?.value).toBe(1);
  });
});

describe("OtelGatewayTelemetry: never content, keys or detected values", () => {
  it("carries none of the planted prompt, completion, key, header or detected values in any span, event or metric", async () => {
    const h = await traced();
    const planted = {
      prompt: "PLANTED-PROMPT-1c9e",
      completion: "PLANTED-COMPLETION-7d2a",
      secret: "sk-proj-PLANTEDSECRETabcdefghijklmnopqrstuv0123456789",
      email: "planted.person@example.org",
      project: "PLANTED-PROJECT-HEADER",
      dataClass: "PLANTED-CLASS",
      residency: "PLANTED-RESIDENCY",
      model: "PLANTED-MODEL-9f",
      user: "PLANTED-USER-41",
    };
    h.provider.next(FakeCompletionProvider.answer(`${planted.completion} ${OTHER_CARD} ${planted.email}`));
    await h.service.handle(h.request({ content: `${planted.prompt} card ${CARD} key ${planted.secret} mail ${planted.email}`, extraBody: { user: planted.user } })).catch(() => undefined);
    await h.service.handle(h.request({ content: planted.prompt, requestedProject: planted.project, dataClassHeader: planted.dataClass, residencyHeader: planted.residency })).catch(() => undefined);
    await h.service.handle(h.request({ content: planted.prompt, extraBody: { model: planted.model } })).catch(() => undefined);
    await h.service.handle(h.request({ content: `${planted.prompt} ${CARD}`, dataClassHeader: "public" })).catch(() => undefined);
    await h.service.handle(h.request({ authorization: `Bearer ${h.keys.app}x`, content: planted.prompt })).catch(() => undefined);

    const text = exported(fixture.spans(), await fixture.points());
    expect(fixture.spans().length).toBeGreaterThan(20);
    const keySecrets = Object.values(h.keys).map((key) => key.split("_").slice(2).join("_"));
    const forbidden = [...Object.values(planted), CARD, CARD.replace(/ /g, ""), OTHER_CARD, OTHER_CARD.replace(/ /g, ""), "4111", ...Object.values(h.keys), ...keySecrets];
    for (const value of forbidden) expect(text).not.toContain(value);
  });
});
