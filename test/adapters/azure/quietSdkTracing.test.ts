import { createTracingClient, useInstrumenter } from "@azure/core-tracing";
import { afterAll, describe, expect, it } from "vitest";
import { quietAzureSdkTracing, quietSdkInstrumenter } from "../../../src/adapters/azure/quietSdkTracing.js";

const NAMESPACE = Symbol.for("@azure/core-tracing namespace");

/** The Azure SDKs' tracing as the app installs it: a no-op like the SDKs' default, that allocates nothing per call. */
describe("quietAzureSdkTracing", () => {
  quietAzureSdkTracing();
  const client = createTracingClient({ namespace: "Microsoft.Test", packageName: "@azure/test", packageVersion: "1.0.0" });
  afterAll(() => useInstrumenter(undefined as unknown as typeof quietSdkInstrumenter));

  it("gives every call the same span, which records nothing", () => {
    const first = client.startSpan("first");
    const second = client.startSpan("second");
    expect(first.span).toBe(second.span);
    expect(first.span.isRecording()).toBe(false);
    expect(() => {
      first.span.setAttribute("a", 1);
      first.span.setStatus({ status: "error" });
      first.span.recordException(new Error("x"));
      first.span.end();
    }).not.toThrow();
  });

  it("keeps the namespace the client sets, and a nested call gets its parent's context, not a copy", () => {
    const { updatedOptions } = client.startSpan("outer");
    const outer = updatedOptions.tracingOptions?.tracingContext;
    expect(outer?.getValue(NAMESPACE)).toBe("Microsoft.Test");
    const nested = client.startSpan("inner", updatedOptions);
    expect(nested.updatedOptions.tracingOptions?.tracingContext).toBe(outer);
  });

  it("keeps contexts immutable: a value set or deleted is in the new context only", () => {
    const key = Symbol("key");
    const root = client.startSpan("root").updatedOptions.tracingOptions?.tracingContext;
    if (root === undefined) throw new Error("no context");
    const withValue = root.setValue(key, 1);
    expect(root.getValue(key)).toBeUndefined();
    expect(withValue.getValue(key)).toBe(1);
    expect(withValue.getValue(NAMESPACE)).toBe("Microsoft.Test");
    expect(withValue.deleteValue(key).getValue(key)).toBeUndefined();
    expect(withValue.getValue(key)).toBe(1);
  });

  it("adds no header, reads no traceparent and runs a callback in any context as it is", async () => {
    expect(quietSdkInstrumenter.createRequestHeaders()).toEqual({});
    expect(quietSdkInstrumenter.parseTraceparentHeader("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toBeUndefined();
    expect(await client.withSpan("call", {}, async (_options, span) => [span.isRecording(), 42])).toEqual([false, 42]);
  });
});
