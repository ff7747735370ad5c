import { Writable } from "node:stream";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";
import { createProgram } from "../../src/cli/program.js";
import { CliServices } from "../../src/composition/cliServices.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { type RunningJwksServer, startJwksServer } from "../support/jwks.js";
import { UPSTREAMS, type UpstreamName, integrationPolicy } from "./policyFixture.js";

let jwks: RunningJwksServer;
let gateway: GatewayStack<UpstreamName>;

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

async function chain(chainId: string): Promise<AuditEvent[]> {
  const { getAppServices } = await import("../../src/composition/appServices.js");
  const services = await getAppServices();
  const events: AuditEvent[] = [];
  for await (const event of queryAuditEvents(services.audit.ledger, { chainId })) events.push(event);
  return events;
}

async function waitForChain(chainId: string, size: number, timeoutInMs = 20_000): Promise<AuditEvent[]> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const events = await chain(chainId);
    if (events.length >= size || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  jwks = await startJwksServer();
  gateway = await startGatewayStack({ upstreams: UPSTREAMS, policy: (urls) => integrationPolicy(urls, jwks.entra), runServiceBusTriggers: true });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await jwks?.stop();
});

describe("completions -> Service Bus -> the hash chain in Table storage -> palisade audit verify", () => {
  it("records exactly one api_call per answered request, and the chain verifies", async () => {
    const key = await gateway.createKey("acme", "app");
    const client = new OpenAI({ baseURL: gateway.baseUrl, apiKey: key, maxRetries: 0 });
    const requestIds: string[] = [];
    for (let index = 0; index < 12; index += 1) {
      const { response } = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `question ${index} about card 4111 1111 1111 1111` }] }).withResponse();
      requestIds.push(response.headers.get("x-request-id") ?? "");
    }
    const stream = await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "stream" }], stream: true, user: "jane.doe@example.com" },
      { headers: { "x-request-id": "stream-request-0001" } },
    );
    for await (const chunk of stream) void chunk;
    requestIds.push("stream-request-0001");
    // A refusal is a decision too: recorded, as policy_violation.
    await expect(client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 403 });

    // Each answered request: its admission, then its outcome; the refusal: one event.
    const events = await waitForChain("acme", 2 * requestIds.length + 1);
    for (const requestId of requestIds) expect(events.filter((event) => event.type === "request_admitted" && event.requestId === requestId), requestId).toHaveLength(1);
    const calls = events.filter((event) => event.type === "api_call");
    for (const requestId of requestIds) expect(calls.filter((event) => event.requestId === requestId), requestId).toHaveLength(1);
    expect(events.filter((event) => event.type === "policy_violation" && event.reason === "model_not_allowed")).toHaveLength(1);
    // Counts and digests, never content.
    const serialized = JSON.stringify(events);
    expect(serialized).not.toContain("4111 1111 1111 1111");
    expect(serialized).not.toContain("4111111111111111");
    expect(serialized).not.toContain("question 3");
    expect(calls[0]?.dlpFindings?.CREDIT_CARD).toBe(1);
    expect(calls[0]?.contentDigest).toMatch(/^[0-9a-f]{64}$/);
    // The end user is in the event only pseudonymised and encrypted (GDPR), and not sent upstream.
    expect(serialized).not.toContain("jane.doe");
    expect(calls.find((event) => event.requestId === "stream-request-0001")?.subject).toMatch(/^[0-9a-f]{32}:[A-Za-z0-9_-]+$/);
    expect(JSON.stringify(gateway.mocks.euWestStandard.requests())).not.toContain("jane.doe");

    const stdout = new Capture();
    const stderr = new Capture();
    const services = new CliServices(process.env);
    const program = createProgram({ stdout, stderr }, services).exitOverride();
    await program.parseAsync(["node", "palisade", "audit", "checkpoint", "--chain", "acme", "--json"]);
    await program.parseAsync(["node", "palisade", "audit", "verify", "--chain", "acme", "--json"]);
    await services.close();
    const verdict = JSON.parse(stdout.text.trim().split("\n").at(-1) ?? "{}") as { intact?: boolean; entriesChecked?: number };
    expect(verdict.intact).toBe(true);
    expect(verdict.entriesChecked).toBe(events.length);
  }, 60_000);
});
