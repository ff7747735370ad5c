import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ApiKeyService } from "../../../src/core/auth/ApiKeyService.js";
import { Authenticator } from "../../../src/core/auth/Authenticator.js";
import { ManualClock } from "../../../src/core/clock.js";
import { ModelsService } from "../../../src/core/gateway/ModelsService.js";
import { InMemoryApiKeyStore } from "../../fakes/InMemoryApiKeyStore.js";
import { APP_IP, START_IN_MS, gatewayPolicy, jsonResponse, refusalOf } from "./gatewayHarness.js";

async function setup() {
  const policy = gatewayPolicy({ models: [{ name: "gpt-4o-mini", deployment: "mini" }, { name: "small", deployment: "mini" }] });
  const clock = new ManualClock(START_IN_MS);
  const apiKeys = new ApiKeyService({ store: new InMemoryApiKeyStore(), clock, random: (bytes) => randomBytes(bytes) });
  const service = new ModelsService({ policy, authenticator: new Authenticator({ apiKeys, tokens: null, policy }), createdAtInSeconds: 1_767_225_600 });
  const key = async (serviceAccount: string, project = "acme") => (await apiKeys.create({ project, serviceAccount, expiresInMs: 60_000 })).apiKey;
  const input = (authorization: string | null, clientIp: string | null = APP_IP) => ({ requestId: "req-models-1", authorization, apiKey: null, requestedProject: null, clientIp, traceparent: undefined });
  return { service, key, input };
}

describe("ModelsService", () => {
  it("lists the project's models in OpenAI's list shape", async () => {
    const { service, key, input } = await setup();
    const response = jsonResponse(await service.list(input(`Bearer ${await key("lister")}`)));
    expect(response.status).toBe(200);
    expect(response.headers["x-request-id"]).toBe("req-models-1");
    expect(response.body).toEqual({
      object: "list",
      data: [
        { id: "gpt-4o-mini", object: "model", created: 1_767_225_600, owned_by: "palisade:acme" },
        { id: "small", object: "model", created: 1_767_225_600, owned_by: "palisade:acme" },
      ],
    });
  });

  it("refuses a key without models.list, a caller outside the allowlist, and no key", async () => {
    const { service, key, input } = await setup();
    expect((await refusalOf(service.list(input(`Bearer ${await key("tokyo-app", "tokyo")}`)))).code).toBe("missing_permission");
    expect((await refusalOf(service.list(input(`Bearer ${await key("app")}`, "192.0.2.1")))).code).toBe("ip_not_allowed");
    expect((await refusalOf(service.list(input(null)))).code).toBe("missing_api_key");
    expect((await refusalOf(service.list(input("Bearer jwt.owner.sig")))).code).toBe("invalid_token");
  });
});
