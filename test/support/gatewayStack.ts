import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { type RunningLocalHost, startLocalHost } from "../../local/host/index.js";
import { loadFunctionDefinitions } from "../../local/loadFunctionDefinitions.js";
import { type RunningMockOpenAi, startMockOpenAi } from "../../local/mockOpenAi/index.js";
import { type LocalStack, startLocalStack } from "../../local/stack.js";

export interface UpstreamSpec {
  readonly name: string;
  readonly region: string;
}

export interface GatewayStackOptions<Names extends string> {
  readonly upstreams: Readonly<Record<Names, UpstreamSpec>>;
  /** The policy, given the running mocks' URLs. */
  readonly policy: (urls: Readonly<Record<Names, string>>) => PolicyInput;
  readonly runServiceBusTriggers?: boolean;
}

export interface GatewayStack<Names extends string> {
  readonly stack: LocalStack;
  readonly host: RunningLocalHost;
  /** `http://127.0.0.1:PORT/api/v1`: what an app puts in OPENAI_BASE_URL. */
  readonly baseUrl: string;
  readonly mocks: Readonly<Record<Names, RunningMockOpenAi>>;
  createKey(project: string, serviceAccount: string, expiresInMs?: number): Promise<string>;
  revokeKey(apiKey: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole app on the local stack, as `npm start` runs it: Azurite, the Service Bus and Key Vault
 * emulators, mock upstreams, and the local Functions host serving the real function definitions.
 * The app's services are a per-process singleton, so use one stack per test file.
 */
export async function startGatewayStack<Names extends string>(options: GatewayStackOptions<Names>): Promise<GatewayStack<Names>> {
  const directory = await mkdtemp(join(tmpdir(), "palisade-test-"));
  const stack = await startLocalStack({ stateDirectory: directory });
  const mocks = {} as Record<Names, RunningMockOpenAi>;
  const urls = {} as Record<Names, string>;
  for (const [key, spec] of Object.entries(options.upstreams) as [Names, UpstreamSpec][]) {
    mocks[key] = await startMockOpenAi(spec);
    urls[key] = mocks[key].url;
  }
  const policyPath = join(directory, "policy.json");
  await writeFile(policyPath, JSON.stringify(options.policy(urls), null, 2));
  Object.assign(process.env, stack.environment, { PALISADE_POLICY: policyPath, PALISADE_LOG_LEVEL: "error" });

  const { getAppServices } = await import("../../src/composition/appServices.js");
  const services = await getAppServices();
  const host = await startLocalHost({
    definitions: await loadFunctionDefinitions(),
    runServiceBusTriggers: options.runServiceBusTriggers ?? false,
    log: () => undefined,
  });
  return {
    stack,
    host,
    baseUrl: `${host.url}/v1`,
    mocks,
    async createKey(project, serviceAccount, expiresInMs = 3_600_000) {
      return (await services.apiKeys.create({ project, serviceAccount, expiresInMs })).apiKey;
    },
    async revokeKey(apiKey) {
      const keyId = apiKey.split("_")[1] ?? "";
      await services.apiKeys.revoke(keyId);
    },
    async stop() {
      await host.stop();
      await services.close().catch(() => undefined);
      await Promise.allSettled(Object.values<RunningMockOpenAi>(mocks).map((mock) => mock.stop()));
      await stack.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
