import { type HttpRequest, type InvocationContext, type TraceContext } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningLocalHost, startLocalHost } from "../../../local/host/index.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID = "00f067aa0ba902b7";

let host: RunningLocalHost;
const seen: (TraceContext | undefined)[] = [];

beforeAll(async () => {
  host = await startLocalHost({
    definitions: [
      {
        kind: "http",
        name: "probe",
        options: {
          route: "probe",
          methods: ["GET"],
          authLevel: "anonymous",
          handler: async (_request: HttpRequest, context: InvocationContext) => {
            seen.push(context.traceContext);
            return { status: 204 };
          },
        },
      },
    ],
    log: () => undefined,
  });
});

afterAll(async () => {
  await host?.stop();
});

async function invoke(headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${host.url}/probe`, { headers });
  expect(response.status).toBe(204);
  const traceParent = seen.at(-1)?.traceParent;
  if (traceParent === undefined) throw new Error("the handler got no trace context");
  return traceParent;
}

describe("the local host's invocation trace context", () => {
  it("continues the caller's traceparent as the host does: same trace, a new span for the invocation, the caller's sampled flag", async () => {
    const sampled = await invoke({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-01` });
    expect(sampled).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(sampled.split("-")[2]).not.toBe(CALLER_SPAN_ID);
    expect(await invoke({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN_ID}-00` })).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
  });

  it("starts a new sampled trace without a (valid) traceparent, a different one per invocation", async () => {
    const first = await invoke();
    const second = await invoke({ traceparent: "00-zz-not-a-trace-01" });
    expect(first).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(second).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(first.split("-")[1]).not.toBe(second.split("-")[1]);
  });
});
