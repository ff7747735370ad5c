import { HttpRequest, InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { chatCompletions } from "../../src/functions/chatCompletions.js";
import { models } from "../../src/functions/models.js";

/**
 * Issue 18 item 7: an error nobody anticipated became `500 internal_error` and left no trace. Here
 * the app's services cannot be built (the policy file does not exist), so every function fails
 * unexpectedly: each answer must be the 500, and each failure an error line through the invocation
 * context naming the request id and the error.
 */

process.env.PALISADE_POLICY = "/nonexistent/palisade-policy.yaml";

function invocation(functionName: string): { context: InvocationContext; errors: string[] } {
  const errors: string[] = [];
  const context = new InvocationContext({
    invocationId: `inv-${functionName}`,
    functionName,
    logHandler: (level, ...args) => {
      if (level === "error") errors.push(args.map(String).join(" "));
    },
  });
  return { context, errors };
}

describe("an unexpected failure in a function", () => {
  it.each([
    ["chatCompletions", chatCompletions, "POST"],
    ["models", models, "GET"],
  ] as const)("%s answers 500 internal_error and logs the request id and the error through the invocation context", async (name, handler, method) => {
    const { context, errors } = invocation(name);
    const request = new HttpRequest({
      method,
      url: "http://127.0.0.1:7071/api/v1/x",
      headers: { "content-type": "application/json", "x-request-id": `req-${name}-0001` },
      ...(method === "POST" ? { body: { string: "{}" } } : {}),
    });
    const response = await handler(request, context);
    expect(response.status).toBe(500);
    expect(response.headers).toMatchObject({ "x-ms-error-code": "internal_error", "x-request-id": `req-${name}-0001` });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`req-${name}-0001`);
    expect(errors[0]).toMatch(/\n\s+at /); // the stack
  });
});
