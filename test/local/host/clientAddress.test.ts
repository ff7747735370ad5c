import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayStack, startGatewayStack } from "../../support/gatewayStack.js";

/**
 * Issue 18 item 5: with `trustedProxyHops: 0` (the default) the gateway had no client address at all,
 * so a service account allowlisting 127.0.0.0/8 got 403 from 127.0.0.1. In Azure the worker never
 * sees the socket: App Service's front end writes the connection's address into `client-ip`,
 * overwriting any value the caller sent. The local host does the same; these requests go through it.
 */

const MODEL = "gpt-4o-mini";
let gateway: GatewayStack<"upstream">;

beforeAll(async () => {
  gateway = await startGatewayStack({
    upstreams: { upstream: { name: "eu-west", region: "westeurope" } },
    policy: (urls) => ({
      version: 1,
      projects: [{ id: "acme", residency: "eu", models: [{ name: MODEL, deployment: MODEL }], auditOnPublishFailure: "outbox" }],
      serviceAccounts: [
        { id: "loopback", project: "acme", permissions: ["chat.completions", "models.list"], ipAllowlist: ["127.0.0.0/8"] },
        { id: "remote", project: "acme", permissions: ["chat.completions", "models.list"], ipAllowlist: ["10.0.0.0/8"] },
      ],
      endpoints: [
        { id: "eu-west", provider: "azure", baseUrl: urls.upstream, region: "westeurope", residency: "eu", class: "standard", deployments: [MODEL], priority: 1, auth: { kind: "none" } },
      ],
      pricing: { [MODEL]: { inputPer1M: 0.15, outputPer1M: 0.6 } },
      // The default, spelled out: no proxy in front of the platform's own front end.
      network: { trustedProxyHops: 0 },
    }),
  });
});

afterAll(async () => {
  await gateway?.stop();
});

async function listModels(apiKey: string, headers: Record<string, string> = {}): Promise<{ status: number; code: string | null }> {
  const response = await fetch(`${gateway.baseUrl}/models`, { headers: { authorization: `Bearer ${apiKey}`, ...headers }, signal: AbortSignal.timeout(15_000) });
  const body = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, code: body.error?.code ?? null };
}

describe("the client address with trustedProxyHops 0, through the local host", () => {
  it("admits 127.0.0.1 to an account that allowlists 127.0.0.0/8", async () => {
    expect(await listModels(await gateway.createKey("acme", "loopback"))).toEqual({ status: 200, code: null });
  });

  it("cannot be spoofed with client-ip or x-forwarded-for headers", async () => {
    const remote = await gateway.createKey("acme", "remote");
    expect(await listModels(remote)).toEqual({ status: 403, code: "ip_not_allowed" });
    expect(await listModels(remote, { "client-ip": "10.1.2.3:4444", "x-forwarded-for": "10.1.2.3" })).toEqual({ status: 403, code: "ip_not_allowed" });
    // Nor can a spoofed value lock a legitimate caller out.
    expect(await listModels(await gateway.createKey("acme", "loopback"), { "client-ip": "10.1.2.3:4444" })).toEqual({ status: 200, code: null });
  });
});
