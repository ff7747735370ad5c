import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { afterAll, describe, expect, it } from "vitest";
import { errorResponse, failureResponse } from "../../../src/adapters/http/errorResponse.js";
import { PalisadeError } from "../../../src/core/errors.js";

describe("errorResponse", () => {
  it("answers a PalisadeError in OpenAI's shape with its status, code header and own headers", () => {
    const error = new PalisadeError(429, "rate_limit_error", "rate_limit_exceeded", "Slow down.", { param: "model", headers: { "retry-after": "12" } });
    const response = errorResponse(error, "req-12345678", { "x-ratelimit-limit-requests": "5" });
    expect(response.status).toBe(429);
    expect(response.headers).toEqual({
      "content-type": "application/json",
      "x-request-id": "req-12345678",
      "x-ms-error-code": "rate_limit_exceeded",
      "x-ratelimit-limit-requests": "5",
      "retry-after": "12",
    });
    expect(response.jsonBody).toEqual({ error: { message: "Slow down.", type: "rate_limit_error", code: "rate_limit_exceeded", param: "model" } });
  });

  it("gives param null when the error names none", () => {
    const response = errorResponse(new PalisadeError(401, "authentication_error", "missing_api_key", "No key."), "req-1");
    expect(response.jsonBody).toEqual({ error: { message: "No key.", type: "authentication_error", code: "missing_api_key", param: null } });
  });

  it("turns anything else into a 500 that says nothing about it", () => {
    for (const thrown of [new Error("ECONNREFUSED 10.2.3.4 secret=hunter2"), "a string", { code: "invalid_api_key", status: 401 }, null]) {
      const response = errorResponse(thrown, "req-abcdefgh");
      expect(response.status).toBe(500);
      expect(response.headers).toMatchObject({ "x-ms-error-code": "internal_error", "x-request-id": "req-abcdefgh" });
      const body = response.jsonBody as { error: { message: string; type: string; code: string; param: null } };
      expect(body.error).toMatchObject({ type: "api_error", code: "internal_error", param: null });
      expect(body.error.message).toContain("req-abcdefgh");
      expect(JSON.stringify(response)).not.toMatch(/hunter2|10\.2\.3\.4|ECONNREFUSED|a string/);
    }
  });

  it("recognises a PalisadeError by name, across module copies", () => {
    const foreign = Object.assign(new Error("Quota spent."), { name: "PalisadeError", status: 429, type: "rate_limit_error", code: "budget_exceeded", param: null, headers: {} });
    expect(errorResponse(foreign, "req-1").status).toBe(429);
  });
});

describe("failureResponse", () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  afterAll(() => metrics.disable());

  const reporter = (): { lines: string[]; error: (...args: unknown[]) => void; functionName: string } => {
    const lines: string[] = [];
    return { lines, functionName: "chatCompletions", error: (...args: unknown[]) => void lines.push(args.map(String).join(" ")) };
  };

  async function countedErrors(): Promise<{ attributes: Record<string, unknown>; value: number }[]> {
    await reader.forceFlush();
    const metric = exporter
      .getMetrics()
      .at(-1)
      ?.scopeMetrics.flatMap((scope) => scope.metrics)
      .find((candidate) => candidate.descriptor.name === "palisade.errors.unexpected");
    return (metric?.dataPoints ?? []).map((point) => ({ attributes: point.attributes, value: point.value as number }));
  }

  it("logs an unexpected error with the request id, name, message and stack, and counts it (issue 18 item 7)", async () => {
    const context = reporter();
    const thrown = new TypeError("cannot read properties of undefined (reading 'id')");
    const response = failureResponse(thrown, "req-unexpected-1", context);
    expect(response.status).toBe(500);
    expect(context.lines).toHaveLength(1);
    const line = context.lines[0] ?? "";
    expect(line).toContain("req-unexpected-1");
    expect(line).toContain("TypeError: cannot read properties of undefined (reading 'id')");
    expect(line).toContain("errorResponse.test.ts"); // the stack
    expect(await countedErrors()).toEqual([{ attributes: { "faas.name": "chatCompletions", "error.type": "TypeError" }, value: 1 }]);
  });

  it("masks credentials an SDK's message might quote", () => {
    const context = reporter();
    failureResponse(new Error("connect failed: AccountKey=abc123==;sig=zzz authorization: Bearer eyJ.x.y key pal_k1_s3cr3t"), "req-2", context);
    expect(context.lines[0]).not.toMatch(/abc123|zzz|eyJ\.x\.y|s3cr3t/);
    expect(context.lines[0]).toContain("AccountKey=[masked]");
  });

  it("leaves known errors (an answer the gateway chose) unlogged and uncounted", async () => {
    const before = await countedErrors();
    const context = reporter();
    expect(failureResponse(new PalisadeError(429, "rate_limit_error", "rate_limit_exceeded", "Slow down."), "req-3", context).status).toBe(429);
    expect(context.lines).toEqual([]);
    expect(await countedErrors()).toEqual(before);
  });
});
