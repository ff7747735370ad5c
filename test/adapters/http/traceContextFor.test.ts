import { HttpRequest } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { gatewayRequestOf, traceContextFor } from "../../../src/adapters/http/gatewayHttp.js";

const CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const INVOCATION = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01";

const request = (traceparent?: string, tracestate?: string) =>
  new HttpRequest({
    method: "POST",
    url: "http://localhost/api/v1/chat/completions",
    headers: { ...(traceparent === undefined ? {} : { traceparent }), ...(tracestate === undefined ? {} : { tracestate }) },
  });

const traceparentFor = (...args: Parameters<typeof traceContextFor>): string | undefined => traceContextFor(...args).traceparent;
const tracestateFor = (...args: Parameters<typeof traceContextFor>): string | undefined => traceContextFor(...args).tracestate;

describe("traceContextFor", () => {
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

  it("takes the tracestate from the same source as the traceparent", () => {
    expect(tracestateFor(request(CALLER, "vendor=caller"), { traceParent: INVOCATION, traceState: "vendor=host" })).toBe("vendor=host");
    expect(tracestateFor(request(CALLER, "vendor=caller"), { traceParent: INVOCATION })).toBeUndefined();
    expect(tracestateFor(request(CALLER, "vendor=caller"), undefined)).toBe("vendor=caller");
    expect(tracestateFor(request(CALLER, "vendor=caller"), { traceParent: "not-a-traceparent", traceState: "vendor=host" })).toBe("vendor=caller");
  });

  it("drops a tracestate without a traceparent, too long, or with characters that could break a header", () => {
    expect(tracestateFor(request(undefined, "vendor=caller"), undefined)).toBeUndefined();
    expect(tracestateFor(request(CALLER, `a=${"x".repeat(600)}`), undefined)).toBeUndefined();
    expect(tracestateFor(request(CALLER), { traceParent: INVOCATION, traceState: "a=b\r\nx-injected: 1" })).toBeUndefined();
    expect(tracestateFor(request(CALLER), { traceParent: INVOCATION, traceState: "a=é" })).toBeUndefined();
  });

  it("is what gatewayRequestOf hands the gateway", () => {
    expect(gatewayRequestOf(request(CALLER), "req-00000001", 1, null, { traceParent: INVOCATION, traceState: "v=1" })).toMatchObject({ traceparent: INVOCATION, tracestate: "v=1" });
    expect(gatewayRequestOf(request(CALLER, "v=2"), "req-00000001", 1, null)).toMatchObject({ traceparent: CALLER, tracestate: "v=2" });
  });
});
