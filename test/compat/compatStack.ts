import { type PolicyInput } from "../../src/core/policy/schema.js";
import { toolDirective } from "../../local/mockOpenAi/toolCalls.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";

/** The one mock upstream behind the compatibility stack. */
export const COMPAT_UPSTREAMS = { upstream: { name: "compat-upstream", region: "westeurope" } } as const;
export type CompatUpstream = keyof typeof COMPAT_UPSTREAMS;

export const CHAT_MODEL = "gpt-4o-mini";
export const EMBEDDINGS_MODEL = "text-embedding-3-small";
/** What the mock upstream answers to a prompt without directives. */
export const MOCK_REPLY = "This is a mock completion from compat-upstream (westeurope).";
/** What the mock upstream's Responses API answers to a prompt without directives. */
export const MOCK_RESPONSE = "This is a mock response from compat-upstream (westeurope).";
/** A card number: blocked with 422 in the "strict" project, redacted in "acme". */
export const CARD_NUMBER = "4111 1111 1111 1111";

/** The tool the suite's prompts make the mock upstream call, and the arguments it calls it with. */
export const WEATHER_TOOL = "get_weather";
export const WEATHER_ARGUMENTS = { city: "Paris", unit: "celsius" };
/** A prompt that makes the mock upstream answer with a call to WEATHER_TOOL (arguments base64url-encoded in the directive). */
export const WEATHER_PROMPT = `What is the weather in Paris? ${toolDirective(WEATHER_TOOL, JSON.stringify(WEATHER_ARGUMENTS))}`;
/** WEATHER_TOOL's JSON schema, typed so that both the openai SDK and the AI SDK's `jsonSchema` accept it. */
export const WEATHER_PARAMETERS: {
  type: "object";
  properties: Record<string, { type: "string"; description?: string; enum?: string[] }>;
  required: string[];
  additionalProperties: false;
} = {
  type: "object",
  properties: { city: { type: "string", description: "The city" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};

/** The model "answers" with a card number in a tool call's arguments (the prompt carries it only base64url-encoded). */
export const CHARGE_TOOL = "charge_card";
export const CHARGE_PROMPT = `Charge the order. ${toolDirective(CHARGE_TOOL, JSON.stringify({ card: CARD_NUMBER, amount: 20 }))}`;
/** What a client must receive instead: the same JSON with the card number replaced by a placeholder. */
export const REDACTED_CARD = /^\[CREDIT_CARD_\d+\]$/;

/** The mock's usage figures (a rough count of 4 characters a token), so tests can check usage end to end. */
export function mockUsage(prompt: string, reply: string): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const tokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));
  return { prompt_tokens: tokens(prompt), completion_tokens: tokens(reply), total_tokens: tokens(prompt) + tokens(reply) };
}

/**
 * Projects and service accounts that make each refusal a client must understand happen on demand:
 * - `acme/app` may do everything; `acme/lister` may only list models (403 missing_permission);
 * - `acme/tiny` has a per-minute token limit smaller than any request (429 rate_limit_exceeded, not retryable);
 * - `strict/app` blocks prompts with sensitive data (422 sensitive_data_detected).
 */
function compatPolicy(urls: Readonly<Record<CompatUpstream, string>>): PolicyInput {
  const models = [
    { name: CHAT_MODEL, deployment: CHAT_MODEL },
    { name: EMBEDDINGS_MODEL, deployment: EMBEDDINGS_MODEL },
  ];
  return {
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models, maxTokens: 512, auditOnPublishFailure: "outbox" },
      {
        id: "strict",
        residency: "eu",
        models,
        maxTokens: 512,
        auditOnPublishFailure: "outbox",
        dlp: { input: { public: "block", internal: "block", confidential: "block", pii: "block", phi: "block" } },
      },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "models.list", "embeddings.create", "responses.create"] },
      { id: "lister", project: "acme", permissions: ["models.list"] },
      { id: "tiny", project: "acme", permissions: ["chat.completions"], limits: { tokensPerMinute: 8 } },
      { id: "strict-app", project: "strict", permissions: ["chat.completions"] },
    ],
    endpoints: [
      {
        id: "compat-upstream",
        provider: "azure",
        baseUrl: urls.upstream,
        region: "westeurope",
        residency: "eu",
        class: "standard",
        deployments: [CHAT_MODEL, EMBEDDINGS_MODEL],
        operations: ["chat", "responses", "embeddings"],
        auth: { kind: "none" },
        timeoutInMs: 5_000,
      },
    ],
    pricing: { [CHAT_MODEL]: { inputPer1M: 0.15, outputPer1M: 0.6 }, [EMBEDDINGS_MODEL]: { embeddingsPer1M: 0.02 } },
  };
}

export interface CompatKeys {
  /** May do everything the suite drives. */
  readonly app: string;
  /** May only list models: 403. */
  readonly lister: string;
  /** Over its token limit with any request: 429. */
  readonly tiny: string;
  /** Its project blocks sensitive prompts: 422. */
  readonly strict: string;
  /** Well formed, but no such key: 401. */
  readonly unknown: string;
}

export interface CompatStack {
  readonly gateway: GatewayStack<CompatUpstream>;
  /** `http://127.0.0.1:PORT/api`: what Azure clients take as their endpoint. */
  readonly endpoint: string;
  /** `http://127.0.0.1:PORT/api/v1`: what OpenAI clients take as their base URL. */
  readonly baseUrl: string;
  readonly keys: CompatKeys;
  stop(): Promise<void>;
}

/** The whole app on the local stack with the compatibility policy, and one key per refusal. One per test file. */
export async function startCompatStack(): Promise<CompatStack> {
  const gateway = await startGatewayStack({ upstreams: COMPAT_UPSTREAMS, policy: compatPolicy });
  const [app, lister, tiny, strict] = await Promise.all([
    gateway.createKey("acme", "app"),
    gateway.createKey("acme", "lister"),
    gateway.createKey("acme", "tiny"),
    gateway.createKey("strict", "strict-app"),
  ]);
  return {
    gateway,
    endpoint: gateway.host.url,
    baseUrl: gateway.baseUrl,
    keys: { app, lister, tiny, strict, unknown: `pal_doesnotexist1_${"a".repeat(43)}` },
    stop: () => gateway.stop(),
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value: unknown) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)?.slice(0, 200)}`);
    },
    (error: unknown) => error,
  );
}
