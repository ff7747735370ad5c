import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { describeUpstreamProviderContract } from "../../contracts/upstreamProvider.contract.js";
import { FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";

const endpoint: EndpointPolicy = {
  id: "fake-eu",
  provider: "azure",
  baseUrl: "https://fake.invalid",
  region: "westeurope",
  residency: "eu",
  class: "standard",
  deployments: ["contract-deployment"],
  priority: 1,
  apiVersion: "2024-10-21",
  auth: { kind: "none" },
  timeoutInMs: 5_000,
};

describeUpstreamProviderContract("FakeCompletionProvider", async () => {
  const provider = new FakeCompletionProvider();
  return {
    provider,
    endpoint,
    promptSaying(text) {
      // Two pieces, so streams really arrive in parts.
      const middle = Math.ceil(text.length / 2);
      provider.next(FakeCompletionProvider.stream([text.slice(0, middle), text.slice(middle)]));
      return "say it";
    },
    failNextWithRateLimit: (seconds) => void provider.next(FakeCompletionProvider.fail("rate_limited", { status: 429, retryAfterInMs: seconds * 1000 })),
    failNextWithServerError: (status) => void provider.next(FakeCompletionProvider.fail("server_error", { status })),
  };
});
