import { type TokenCredential } from "@azure/identity";
import { type EndpointPolicy } from "../../core/policy/schema.js";
import {
  type Completion,
  type CompletionCallOptions,
  type CompletionChunk,
  type CompletionProvider,
  type CompletionUsage,
  UpstreamError,
} from "../../core/upstream/CompletionProvider.js";
import { type EmbeddingsResult } from "../../core/upstream/EmbeddingsProvider.js";
import { type ResponseResult, type ResponseStreamEvent, type StoredResponseCall, responseUsageOf } from "../../core/upstream/ResponsesProvider.js";
import { type UpstreamProvider } from "../../core/upstream/UpstreamProvider.js";
import { statusError, toUpstreamError } from "./toUpstreamError.js";
import { upstreamEventStream } from "./upstreamEventStream.js";
import { type UpstreamAnswer, type UpstreamHttpClient, createUpstreamHttpClient } from "./upstreamHttpClient.js";
import { type UpstreamOperation, type UpstreamTarget, storedResponseRequestOf, upstreamTargetOf, upstreamUrlOf } from "./upstreamTarget.js";

const COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default";
/** Names Palisade to the upstream (the SDK sent its own name and platform headers). */
const USER_AGENT = "Palisade";
/** Sent as the key of `auth.kind = none` endpoints (local stand-ins), as before. */
const NO_KEY = "unused-local";
/** Targets kept at most (endpoints x deployments x operations of the policies seen). */
const MAX_TARGETS = 1_000;

export interface OpenAiCompletionProviderOptions {
  /** Managed identity (or developer) credential for `auth.kind = managed-identity` endpoints. */
  readonly credential: TokenCredential | null;
  /** Reads an upstream API key for `auth.kind = key-vault-secret` endpoints (cached by the caller). */
  readonly readApiKey: ((secretName: string) => Promise<string>) | null;
  /** The HTTP client; defaults to one on node:http with keep-alive, shared by the process. */
  readonly http?: UpstreamHttpClient;
}

/** Shared by every provider in the process, so keep-alive connections are too. */
let sharedHttp: UpstreamHttpClient | undefined;

/**
 * Calls Azure OpenAI or the OpenAI platform over their REST API: one JSON POST on a keep-alive
 * connection, the answer parsed as JSON or as an SSE stream. It replaced the `openai` SDK's request
 * pipeline, which cost ~17 % of the instance's CPU at 200 req/s (docs/benchmarks.md); it keeps what
 * the adapter relied on the SDK for (URLs, auth headers, error classes, SSE) and adds nothing else:
 * no retries (routing decides between waiting and failing over, within the request's deadline), and
 * nothing read from the process environment (the upstream is the policy's, never a shell's
 * OPENAI_BASE_URL, AZURE_OPENAI_API_KEY or OPENAI_LOG).
 */
export class OpenAiCompletionProvider implements CompletionProvider, UpstreamProvider {
  private readonly http: UpstreamHttpClient;
  private readonly targets = new Map<string, UpstreamTarget>();
  private tokenProvider: Promise<() => Promise<string>> | null = null;

  constructor(private readonly options: OpenAiCompletionProviderOptions) {
    this.http = options.http ?? (sharedHttp ??= createUpstreamHttpClient());
  }

  async complete(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<Completion> {
    const answer = await this.post(endpoint, "chat", { ...body, model: options.deployment, stream: false }, options, false);
    const json = jsonOf(answer, endpoint) as Completion["body"];
    return { body: json, usage: usageOf(json.usage) };
  }

  async stream(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<CompletionChunk>> {
    // Usage is needed to settle limits and budgets, whatever the caller asked for.
    const sent = { ...body, model: options.deployment, stream: true, stream_options: { include_usage: true } };
    return this.events<CompletionChunk>(endpoint, await this.post(endpoint, "chat", sent, options, true));
  }

  async createEmbeddings(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<EmbeddingsResult> {
    // Float unless base64 was asked for: the vectors come back as the upstream encoded them.
    const encoding = body.encoding_format === "base64" ? "base64" : "float";
    const answer = await this.post(endpoint, "embeddings", { ...body, model: options.deployment, encoding_format: encoding }, options, false);
    const json = jsonOf(answer, endpoint) as EmbeddingsResult["body"] & { usage?: { prompt_tokens: number } | null };
    return { body: json, usage: json.usage ? { promptTokens: json.usage.prompt_tokens, cachedPromptTokens: 0, completionTokens: 0 } : null };
  }

  async createResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    const answer = await this.post(endpoint, "responses", { ...body, model: options.deployment, stream: false }, options, false);
    const json = withOutputText(jsonOf(answer, endpoint)) as ResponseResult["body"];
    return { body: json, usage: responseUsageOf(json.usage) };
  }

  async streamResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<AsyncIterable<ResponseStreamEvent>> {
    return this.events<ResponseStreamEvent>(endpoint, await this.post(endpoint, "responses", { ...body, model: options.deployment, stream: true }, options, true));
  }

  /** `POST /responses/compact`: the compacted response with its usage (no `stream` field: the API has none). */
  async compactResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    const json = jsonOf(await this.post(endpoint, "responses.compact", { ...body, model: options.deployment }, options, false), endpoint);
    return { body: json, usage: responseUsageOf(json.usage) };
  }

  /** `POST /responses/input_tokens`: the count as the upstream answered it. */
  async countInputTokens(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    return { body: jsonOf(await this.post(endpoint, "responses.input_tokens", { ...body, model: options.deployment }, options, false), endpoint), usage: null };
  }

  /** A stored Response by id (GET, DELETE, or POST cancel), without a body; an error status becomes an `UpstreamError`. */
  async callStoredResponse(endpoint: EndpointPolicy, call: StoredResponseCall, options: CompletionCallOptions): Promise<ResponseResult> {
    const json = jsonOf(await this.storedCall(endpoint, call, options, false), endpoint);
    return { body: call.action === "retrieve" || call.action === "cancel" ? withOutputText(json) : json, usage: null };
  }

  async streamStoredResponse(endpoint: EndpointPolicy, call: StoredResponseCall, options: CompletionCallOptions): Promise<AsyncIterable<ResponseStreamEvent>> {
    const streamed = { ...call, query: [...call.query, ["stream", "true"] as const] };
    return this.events<ResponseStreamEvent>(endpoint, await this.storedCall(endpoint, streamed, options, true));
  }

  private async storedCall(endpoint: EndpointPolicy, call: StoredResponseCall, options: CompletionCallOptions, streamed: boolean): Promise<UpstreamAnswer> {
    const { method, url } = storedResponseRequestOf(endpoint, call);
    const { "content-type": _json, ...headers } = await this.headers(endpoint, options);
    let answer: UpstreamAnswer;
    try {
      // Not kept among the targets: every id is a new URL.
      answer = await this.http.post({ target: upstreamTargetOf(url), method, headers, body: "", timeoutInMs: options.timeoutInMs, signal: options.abortSignal, streamed });
    } catch (error) {
      throw toUpstreamError(error, endpoint);
    }
    if (answer.kind === "whole" && (answer.status < 200 || answer.status > 299)) throw statusError(endpoint, answer.status, answer.headers, answer.body);
    return answer;
  }

  /** One POST; an error status becomes the `UpstreamError` routing reads. */
  private async post(endpoint: EndpointPolicy, operation: UpstreamOperation, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions, streamed: boolean): Promise<UpstreamAnswer> {
    const headers = await this.headers(endpoint, options);
    let answer: UpstreamAnswer;
    try {
      answer = await this.http.post({ target: this.targetOf(endpoint, options.deployment, operation), headers, body: JSON.stringify(body), timeoutInMs: options.timeoutInMs, signal: options.abortSignal, streamed });
    } catch (error) {
      throw toUpstreamError(error, endpoint);
    }
    if (answer.kind === "whole" && (answer.status < 200 || answer.status > 299)) throw statusError(endpoint, answer.status, answer.headers, answer.body);
    return answer;
  }

  private events<Event>(endpoint: EndpointPolicy, answer: UpstreamAnswer): AsyncIterable<Event> {
    if (answer.kind !== "stream") throw new UpstreamError("fatal", `endpoint ${endpoint.id} did not answer with a stream`, answer.status);
    return upstreamEventStream<Event>(answer, endpoint);
  }

  private targetOf(endpoint: EndpointPolicy, deployment: string, operation: UpstreamOperation): UpstreamTarget {
    const url = upstreamUrlOf(endpoint, deployment, operation);
    let target = this.targets.get(url);
    if (target === undefined) {
      if (this.targets.size >= MAX_TARGETS) this.targets.clear();
      target = upstreamTargetOf(url);
      this.targets.set(url, target);
    }
    return target;
  }

  /**
   * The headers the SDK sent that the upstream reads: JSON in and out, the request id and trace
   * context, and the credential. Azure takes a key as `api-key` (deployment routes and the v1 API
   * alike) and an Entra token as a bearer token; the platform takes its key as a bearer token.
   */
  private async headers(endpoint: EndpointPolicy, options: CompletionCallOptions): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: "application/json", "content-type": "application/json", "user-agent": USER_AGENT, "x-ms-client-request-id": options.requestId };
    if (options.traceparent) {
      headers.traceparent = options.traceparent;
      if (options.tracestate) headers.tracestate = options.tracestate;
    }
    const auth = endpoint.auth;
    const apiKey = auth.kind === "key-vault-secret" ? await this.apiKey(auth.secretName) : NO_KEY;
    if (endpoint.provider === "openai") headers.authorization = `Bearer ${apiKey}`;
    else if (auth.kind === "managed-identity") headers.authorization = `Bearer ${await this.entraToken(endpoint)}`;
    else headers["api-key"] = apiKey;
    return headers;
  }

  /**
   * Entra tokens for Azure OpenAI through @azure/identity's bearer token provider (which caches and
   * refreshes them), imported when a managed-identity endpoint is first called, not at start-up.
   */
  private async entraToken(endpoint: EndpointPolicy): Promise<string> {
    const credential = this.options.credential;
    if (!credential) throw new UpstreamError("fatal", `endpoint ${endpoint.id} needs a managed identity, but none is configured`);
    try {
      const provider = await (this.tokenProvider ??= import("@azure/identity").then(({ getBearerTokenProvider }) => getBearerTokenProvider(credential, COGNITIVE_SERVICES_SCOPE)));
      const token = await provider();
      if (typeof token !== "string" || token === "") throw new TypeError("no token");
      return token;
    } catch {
      // The credential's message may name the identity or its endpoint: only the fact is kept.
      throw new UpstreamError("fatal", `no access token for endpoint ${endpoint.id} could be obtained`);
    }
  }

  private async apiKey(secretName: string): Promise<string> {
    if (!this.options.readApiKey) throw new UpstreamError("fatal", "an endpoint reads its key from Key Vault, but no Key Vault is configured");
    return this.options.readApiKey(secretName);
  }
}

/** A 2xx answer's JSON object. Anything else is the endpoint answering what the API never does. */
function jsonOf(answer: UpstreamAnswer, endpoint: EndpointPolicy): Record<string, unknown> {
  if (answer.kind === "stream") {
    answer.close();
    throw new UpstreamError("fatal", `endpoint ${endpoint.id} answered with a stream`, answer.status);
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.body.toString("utf8"));
  } catch {
    json = null;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new UpstreamError("fatal", `endpoint ${endpoint.id} answered ${answer.status} with a body that is not a JSON object`, answer.status);
  return json as Record<string, unknown>;
}

function usageOf(usage: unknown): CompletionUsage | null {
  if (typeof usage !== "object" || usage === null) return null;
  const fields = usage as { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } | null };
  return { promptTokens: fields.prompt_tokens, cachedPromptTokens: fields.prompt_tokens_details?.cached_tokens ?? 0, completionTokens: fields.completion_tokens };
}

/** The SDK's `output_text` convenience (every `output_text` part of every message, joined), which callers of the openai SDK read. */
function withOutputText(json: Record<string, unknown>): Record<string, unknown> {
  if (json.object !== "response" || !Array.isArray(json.output)) return json;
  const texts: unknown[] = [];
  for (const item of json.output as ({ type?: unknown; content?: unknown } | null)[]) {
    if (item?.type !== "message" || !Array.isArray(item.content)) continue;
    for (const part of item.content as ({ type?: unknown; text?: unknown } | null)[]) if (part?.type === "output_text") texts.push(part.text);
  }
  json.output_text = texts.join("");
  return json;
}
