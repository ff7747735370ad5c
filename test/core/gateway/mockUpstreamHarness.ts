import { afterAll, afterEach, beforeAll } from "vitest";
import { type RunningMockOpenAi, startMockOpenAi } from "../../../local/mockOpenAi/index.js";
import { OpenAiCompletionProvider } from "../../../src/adapters/openai/OpenAiCompletionProvider.js";
import { type ProjectInput, gatewayHarness } from "./gatewayHarness.js";

/** What `useMockUpstreamHarness` gives a test file. */
export interface MockUpstreamHarness {
  /** The running mock (what it received: `mock().requests()`). */
  readonly mock: () => RunningMockOpenAi;
  /** The upstream provider the harness calls the mock through (for operations a test builds itself). */
  readonly provider: OpenAiCompletionProvider;
  /** The governed pipeline for project `acme` (with `project`'s settings) calling the mock. */
  readonly harness: (project?: Partial<ProjectInput>) => ReturnType<typeof gatewayHarness>;
}

/**
 * The governed pipeline against the mock OpenAI upstream in the EU, through the real `openai` SDK
 * provider, for one test file: the mock starts before its tests, forgets its requests after each and
 * stops after all. Service accounts: `acme/app` (chat and Responses, from 10.0.0.0/8), `acme/lister`,
 * `tokyo/tokyo-app`.
 */
export function useMockUpstreamHarness(): MockUpstreamHarness {
  let running: RunningMockOpenAi | undefined;
  beforeAll(async () => {
    running = await startMockOpenAi({ name: "mock-eu", region: "westeurope" });
  });
  afterAll(async () => running?.stop());
  afterEach(() => running?.clearRequests());
  const mock = (): RunningMockOpenAi => {
    if (!running) throw new Error("the mock upstream starts in beforeAll");
    return running;
  };
  const provider = new OpenAiCompletionProvider({ credential: null, readApiKey: null });
  const harness = (project: Partial<ProjectInput> = {}): ReturnType<typeof gatewayHarness> =>
    gatewayHarness({
      project: { cache: undefined, ...project },
      cache: false,
      policy: {
        endpoints: [{ id: "mock-eu", provider: "azure", baseUrl: mock().url, region: "westeurope", residency: "eu", class: "zdr", deployments: ["mini"], priority: 1, auth: { kind: "none" }, timeoutInMs: 10_000 }],
        serviceAccounts: [
          { id: "app", project: "acme", permissions: ["chat.completions", "responses.create"], ipAllowlist: ["10.0.0.0/8"] },
          { id: "lister", project: "acme", permissions: ["models.list"] },
          { id: "tokyo-app", project: "tokyo", permissions: ["chat.completions"] },
        ],
      },
      upstream: provider,
    });
  return { mock, provider, harness };
}
