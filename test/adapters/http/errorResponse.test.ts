import { describe, expect, it } from "vitest";
import { errorResponse } from "../../../src/adapters/http/errorResponse.js";
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
