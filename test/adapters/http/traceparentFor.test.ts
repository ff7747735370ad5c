import { HttpRequest } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { gatewayRequestOf, traceparentFor } from "../../../src/adapters/http/gatewayHttp.js";

const CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const INVOCATION = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";

const request = (traceparent?: string) =>
  new HttpRequest({ method: "POST", url: "http://localhost/api/v1/chat/completions", headers: traceparent === undefined ? {} : { traceparent } });

describe("traceparentFor", () => {
  it("continues the Functions invocation's trace context when the host gives one, else the caller's header", () => {
    expect(traceparentFor(request(CALLER), { traceParent: INVOCATION, traceState: "", attributes: {} })).toBe(INVOCATION);
    expect(traceparentFor(request(CALLER), undefined)).toBe(CALLER);
    expect(traceparentFor(request(CALLER), {})).toBe(CALLER);
    expect(traceparentFor(request(), undefined)).toBeUndefined();
    expect(traceparentFor(request(), { traceParent: INVOCATION })).toBe(INVOCATION);
  });

  it("ignores a malformed invocation context and falls back to the header", () => {
    expect(traceparentFor(request(CALLER), { traceParent: "not-a-traceparent" })).toBe(CALLER);
    expect(traceparentFor(request(CALLER), { traceParent: `00-${"0".repeat(32)}-b7ad6b7169203331-01` })).toBe(CALLER);
  });

  it("is what gatewayRequestOf hands the gateway", () => {
    expect(gatewayRequestOf(request(CALLER), "req-00000001", 1, null, { traceParent: INVOCATION }).traceparent).toBe(INVOCATION);
    expect(gatewayRequestOf(request(CALLER), "req-00000001", 1, null).traceparent).toBe(CALLER);
  });
});
