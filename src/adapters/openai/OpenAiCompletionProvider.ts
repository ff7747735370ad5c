import { type TokenCredential } from "@azure/identity";
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, AzureOpenAI } from "openai";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import {
  type Completion,
  type CompletionCallOptions,
  type CompletionChunk,
  type CompletionProvider,
  type CompletionUsage,
  UpstreamError,
  plainToken,
} from "../../core/upstream/CompletionProvider.js";
import { type EmbeddingsResult } from "../../core/upstream/EmbeddingsProvider.js";
import { type ResponseResult, type ResponseStreamEvent, responseUsageOf } from "../../core/upstream/ResponsesProvider.js";
import { type UpstreamProvider } from "../../core/upstream/UpstreamProvider.js";
import { type SdkFetch, createNodeHttpFetch } from "./nodeHttpFetch.js";

const COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default";

export interface OpenAiCompletionProviderOptions {
  /** Managed identity (or developer) credential for `auth.kind = managed-identity` endpoints. */
  readonly credential: TokenCredential | null;
  /** Reads an upstream API key for `auth.kind = key-vault-secret` endpoints (cached by the caller). */
  readonly readApiKey: ((secretName: string) => Promise<string>) | null;
  /** The SDK's `fetch`; defaults to one on node:http with keep-alive (see `createNodeHttpFetch`). */
  readonly fetch?: SdkFetch;
}

type ChatClient = Pick<OpenAI, "chat" | "embeddings" | "responses">;

/** Chat and embeddings use Azure's deployment routes; the Responses API exists on Azure only under `/openai/v1`. */
type ClientKind = "deployment" | "v1";

interface CachedClient {
  readonly client: ChatClient;
  /** What the client was built from; a policy reload or a rotated key builds a new one. */
  readonly fingerprint: string;
}

/** The SDK merges OPENAI_CUSTOM_HEADERS into the default headers in its constructor; these clients put back only ours. */
class PolicyOpenAI extends OpenAI {
  constructor(options: ConstructorParameters<typeof OpenAI>[0] & object) {
    super(options);
    this._options = { ...this._options, defaultHeaders: options.defaultHeaders };
  }
}

class PolicyAzureOpenAI extends AzureOpenAI {
  constructor(options: ConstructorParameters<typeof AzureOpenAI>[0] & object) {
    super(options);
    this._options = { ...this._options, defaultHeaders: options.defaultHeaders };
  }
}

// The SDK names itself in User-Agent by its class name: keep the SDK's own.
Object.defineProperty(PolicyOpenAI, "name", { value: "OpenAI" });
Object.defineProperty(PolicyAzureOpenAI, "name", { value: "AzureOpenAI" });

/** Shared by every provider in the process, so keep-alive connections are too. */
let sharedFetch: SdkFetch | undefined;

/**
 * Calls Azure OpenAI or the OpenAI platform with the official `openai` SDK. The SDK's own retries are
 * switched off (maxRetries 0): it honours `retry-after` with no upper bound, and routing must decide
 * between waiting and failing over, within the request's deadline.
 */
export class OpenAiCompletionProvider implements CompletionProvider, UpstreamProvider {
  private readonly clients = new Map<string, CachedClient>();
  private readonly fetch: SdkFetch;
  private tokenProvider: Promise<() => Promise<string>> | null = null;

  constructor(private readonly options: OpenAiCompletionProviderOptions) {
    this.fetch = options.fetch ?? (sharedFetch ??= createNodeHttpFetch());
  }

  async complete(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<Completion> {
    const client = await this.clientFor(endpoint, options.deployment);
    try {
      const response = await client.chat.completions.create(
        { ...body, model: options.deployment, stream: false } as OpenAI.ChatCompletionCreateParamsNonStreaming,
        requestOptions(options),
      );
      // Already plain JSON (the SDK parsed it; its `_request_id` is not enumerable).
      return { body: response as unknown as Completion["body"], usage: usageOf(response.usage) };
    } catch (error) {
      throw toUpstreamError(error, endpoint);
    }
  }

  async stream(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<CompletionChunk>> {
    const client = await this.clientFor(endpoint, options.deployment);
    let upstream: AsyncIterable<OpenAI.ChatCompletionChunk>;
    try {
      upstream = await client.chat.completions.create(
        {
          ...body,
          model: options.deployment,
          stream: true,
          // Usage is needed to settle limits and budgets, whatever the caller asked for.
          stream_options: { include_usage: true },
        } as OpenAI.ChatCompletionCreateParamsStreaming,
        requestOptions(options),
      );
    } catch (error) {
      throw toUpstreamError(error, endpoint);
    }
    return mapStreamErrors(upstream as unknown as AsyncIterable<CompletionChunk>, endpoint);
  }

  async createEmbeddings(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<EmbeddingsResult> {
    const client = await this.clientFor(endpoint, options.deployment);
    try {
      // An explicit encoding_format makes the SDK return the vectors as sent (it decodes base64 only when it chose it).
      const encoding = body.encoding_format === "base64" ? "base64" : "float";
      const response = await client.embeddings.create({ ...body, model: options.deployment, encoding_format: encoding } as OpenAI.EmbeddingCreateParams, requestOptions(options));
      const usage = response.usage as OpenAI.CreateEmbeddingResponse.Usage | undefined;
      return { body: response as unknown as EmbeddingsResult["body"], usage: usage ? { promptTokens: usage.prompt_tokens, cachedPromptTokens: 0, completionTokens: 0 } : null };
    } catch (error) {
      throw toUpstreamError(error, endpoint);
    }
  }

  async createResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    const client = await this.clientFor(endpoint, options.deployment, "v1");
    try {
      const response = await client.responses.create({ ...body, model: options.deployment, stream: false } as OpenAI.Responses.ResponseCreateParamsNonStreaming, requestOptions(options));
      return { body: response as unknown as ResponseResult["body"], usage: responseUsageOf(response.usage) };
    } catch (error) {
      throw toUpstreamError(error, endpoint);
    }
  }

  async streamResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<ResponseStreamEvent>> {
    const client = await this.clientFor(endpoint, options.deployment, "v1");
    let upstream: AsyncIterable<OpenAI.Responses.ResponseStreamEvent>;
    try {
      upstream = await client.responses.create({ ...body, model: options.deployment, stream: true } as OpenAI.Responses.ResponseCreateParamsStreaming, requestOptions(options));
    } catch (error) {
      throw toUpstreamError(error, endpoint);
    }
    return mapStreamErrors(upstream as AsyncIterable<ResponseStreamEvent>, endpoint);
  }

  /**
   * One client per endpoint and deployment, reused across requests (building one costs more than a
   * call). Key Vault keys are read on every call (the reader caches them), so a rotated key builds a
   * new client.
   */
  private async clientFor(endpoint: EndpointPolicy, deployment: string, kind: ClientKind = "deployment"): Promise<ChatClient> {
    const auth = endpoint.auth;
    const apiKey = auth.kind === "key-vault-secret" ? await this.apiKey(auth.secretName) : "unused-local";
    const fingerprint = `${endpoint.provider}|${endpoint.baseUrl}|${endpoint.apiVersion}|${endpoint.timeoutInMs}|${auth.kind}|${apiKey}`;
    const cacheKey = `${endpoint.id}/${deployment}/${kind}`;
    const cached = this.clients.get(cacheKey);
    if (cached?.fingerprint === fingerprint) return cached.client;
    const client = kind === "v1" ? this.createV1Client(endpoint, apiKey) : this.createClient(endpoint, deployment, apiKey);
    this.clients.set(cacheKey, { client, fingerprint });
    return client;
  }

  /**
   * Every option the SDK would otherwise read from the process environment is given explicitly: the
   * host's shell may hold a developer's OPENAI_BASE_URL (npm start prints one), AZURE_OPENAI_API_KEY,
   * OPENAI_ORG_ID or OPENAI_LOG, and none of them may redirect, re-key, tag or log an upstream call.
   */
  private createClient(endpoint: EndpointPolicy, deployment: string, apiKey: string): ChatClient {
    const auth = endpoint.auth;
    if (endpoint.provider === "openai") return new PolicyOpenAI({ ...explicitOptions(endpoint, this.fetch), baseURL: endpoint.baseUrl, apiKey });
    // `baseURL`, not `endpoint`: AzureOpenAI refuses an `endpoint` beside an ambient OPENAI_BASE_URL.
    const azure = { ...explicitOptions(endpoint, this.fetch), baseURL: `${endpoint.baseUrl.replace(/\/+$/, "")}/openai`, apiVersion: endpoint.apiVersion, deployment };
    if (auth.kind === "managed-identity") {
      if (!this.options.credential) throw new UpstreamError("fatal", `endpoint ${endpoint.id} needs a managed identity, but none is configured`);
      const azureADTokenProvider = this.entraToken(this.options.credential);
      // null, not undefined: an undefined apiKey would be read from AZURE_OPENAI_API_KEY (and clash with the token provider).
      return new PolicyAzureOpenAI({ ...azure, azureADTokenProvider, apiKey: null as unknown as undefined });
    }
    return new PolicyAzureOpenAI({ ...azure, apiKey });
  }

  /**
   * The Responses API: the platform as is; on Azure, the v1 API (`{endpoint}/openai/v1`, no dated
   * api-version), which takes the key as `api-key` or an Entra token as a bearer token.
   */
  private createV1Client(endpoint: EndpointPolicy, apiKey: string): ChatClient {
    const common = explicitOptions(endpoint, this.fetch);
    if (endpoint.provider === "openai") return new PolicyOpenAI({ ...common, baseURL: endpoint.baseUrl, apiKey });
    const baseURL = `${endpoint.baseUrl.replace(/\/+$/, "")}/openai/v1`;
    if (endpoint.auth.kind === "managed-identity") {
      if (!this.options.credential) throw new UpstreamError("fatal", `endpoint ${endpoint.id} needs a managed identity, but none is configured`);
      return new PolicyOpenAI({ ...common, baseURL, apiKey: this.entraToken(this.options.credential) });
    }
    return new PolicyOpenAI({ ...common, baseURL, apiKey, defaultHeaders: { "api-key": apiKey, authorization: null } });
  }

  /**
   * Entra tokens for Azure OpenAI through @azure/identity's bearer token provider (which caches and
   * refreshes them), imported when a managed-identity endpoint is first called, not at start-up.
   */
  private entraToken(credential: TokenCredential): () => Promise<string> {
    const provider = (this.tokenProvider ??= import("@azure/identity").then(({ getBearerTokenProvider }) => getBearerTokenProvider(credential, COGNITIVE_SERVICES_SCOPE)));
    return async () => (await provider)();
  }

  private async apiKey(secretName: string): Promise<string> {
    if (!this.options.readApiKey) throw new UpstreamError("fatal", "an endpoint reads its key from Key Vault, but no Key Vault is configured");
    return this.options.readApiKey(secretName);
  }
}

/**
 * Every option the SDK would otherwise read from the process environment (OPENAI_BASE_URL,
 * OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_ADMIN_KEY, OPENAI_WEBHOOK_SECRET, OPENAI_LOG, ...), set
 * explicitly: the gateway's upstream is the policy's, never an app setting's or a shell's.
 */
function explicitOptions(endpoint: EndpointPolicy, fetch: SdkFetch) {
  return {
    maxRetries: 0,
    timeout: endpoint.timeoutInMs,
    fetch,
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    logLevel: "off",
    // OPENAI_CUSTOM_HEADERS is merged into these whatever is passed: the Policy* clients drop it again.
    defaultHeaders: {},
  } as const;
}

function requestOptions(options: CompletionCallOptions): OpenAI.RequestOptions {
  const headers: Record<string, string> = { "x-ms-client-request-id": options.requestId };
  if (options.traceparent) {
    headers.traceparent = options.traceparent;
    if (options.tracestate) headers.tracestate = options.tracestate;
  }
  return { timeout: options.timeoutInMs, maxRetries: 0, headers, ...(options.abortSignal ? { signal: options.abortSignal } : {}) };
}

function usageOf(usage: OpenAI.CompletionUsage | undefined | null): CompletionUsage | null {
  if (!usage) return null;
  return {
    promptTokens: usage.prompt_tokens,
    cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    completionTokens: usage.completion_tokens,
  };
}

async function* mapStreamErrors<Chunk>(upstream: AsyncIterable<Chunk>, endpoint: EndpointPolicy): AsyncIterable<Chunk> {
  try {
    for await (const chunk of upstream) yield chunk;
  } catch (error) {
    // Once the request has left, a failure while reading its stream is the connection's.
    throw toUpstreamError(error, endpoint, "connection");
  }
}

function retryAfterInMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get("retry-after-ms"));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const seconds = Number(headers.get("retry-after"));
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  return undefined;
}

/** Azure's content filter answers `code: content_filter` (older versions put it in `innererror.code`). */
function upstreamCodeOf(error: APIError<number | undefined, Headers | undefined>): { code?: string; param?: string; contentFilterResult?: unknown } {
  const body = typeof error.error === "object" && error.error !== null ? (error.error as { innererror?: { code?: unknown; content_filter_result?: unknown } }) : {};
  const code = plainToken(error.code) ?? plainToken(body.innererror?.code);
  const param = plainToken(error.param);
  const contentFilterResult = body.innererror?.content_filter_result;
  return { ...(code === undefined ? {} : { code }), ...(param === undefined ? {} : { param }), ...(contentFilterResult === undefined ? {} : { contentFilterResult }) };
}

/** Maps SDK errors to what routing needs. Messages name the endpoint, never the request or the key. */
export function toUpstreamError(error: unknown, endpoint: EndpointPolicy, otherwise: "fatal" | "connection" = "fatal"): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof APIConnectionTimeoutError) return new UpstreamError("timeout", `endpoint ${endpoint.id} timed out`);
  if (error instanceof APIConnectionError) return new UpstreamError("connection", `endpoint ${endpoint.id} could not be reached`);
  if (error instanceof APIError) {
    const apiError = error as APIError<number | undefined, Headers | undefined>;
    const status = apiError.status ?? null;
    if (status === 429) return new UpstreamError("rate_limited", `endpoint ${endpoint.id} is rate limited`, 429, retryAfterInMs(apiError.headers));
    if (status === 408) return new UpstreamError("timeout", `endpoint ${endpoint.id} timed out`, 408);
    if (status !== null && status >= 500) return new UpstreamError("server_error", `endpoint ${endpoint.id} answered ${status}`, status);
    // The upstream's code and param are kept (only as plain tokens); its message is not (it may quote the prompt).
    return new UpstreamError("fatal", `endpoint ${endpoint.id} refused the request (${status ?? "no status"})`, status, undefined, upstreamCodeOf(apiError));
  }
  if (error instanceof Error && error.name === "AbortError") return new UpstreamError("timeout", `endpoint ${endpoint.id} timed out`);
  // Before the request leaves, the SDK wraps every network failure; anything else failed while building
  // it (serialising, say) and says nothing about the endpoint's health.
  if (otherwise === "connection") return new UpstreamError("connection", `the stream from endpoint ${endpoint.id} broke`);
  return new UpstreamError("fatal", `the request to endpoint ${endpoint.id} could not be sent`);
}
