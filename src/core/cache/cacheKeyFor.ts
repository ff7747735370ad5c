import canonicalizeModule from "canonicalize";
import { createHmac } from "node:crypto";
import { type DataClass, type ProjectPolicy } from "../policy/schema.js";

export interface CacheableRequest {
  readonly projectId: string;
  /** The project's `cache` block; undefined means the project does not cache. */
  readonly cache: ProjectPolicy["cache"];
  /** The class after `classify` (declared or default, raised by DLP). */
  readonly dataClass: DataClass;
  /** DLP findings in the prompt, of any type. */
  readonly dlpFindingCount: number;
  /** The upstream deployment the model maps to: a re-mapped model must not serve old answers. */
  readonly deployment: string;
  /** The parsed OpenAI chat-completions (or embeddings) body. */
  readonly body: Readonly<Record<string, unknown>>;
  /** `embeddings`: deterministic by nature (same input, same vectors), so the chat rules on temperature, tools and messages do not apply. */
  readonly operation?: string;
}

export type CacheDecision =
  | { readonly cacheable: true; readonly ttlInMs: number }
  | { readonly cacheable: false; readonly reason: CacheRefusal };

export type CacheRefusal =
  | "cache_disabled"
  | "not_public"
  | "dlp_findings"
  | "stream"
  | "not_deterministic"
  | "multiple_choices"
  | "tools"
  | "non_text_content"
  | "not_canonicalizable";

type Canonicalize = (input: unknown) => string | undefined;
// A CommonJS module: Node hands its export over as the default import, the types describe `.default`.
const imported: unknown = canonicalizeModule;
const canonicalize = (typeof imported === "function" ? imported : (imported as { default: unknown }).default) as Canonicalize;

/** Fields that change nothing about the completion; left out of the key. */
const IGNORED_FIELDS = new Set(["stream", "stream_options", "n", "user"]);

/**
 * Whether a response may be cached and served from the cache. All must hold:
 * - the project has a `cache` block (its `ttlSeconds` is the TTL);
 * - the request is classified `public` and DLP found nothing (never internal, confidential, pii, phi);
 * - it is deterministic: `temperature` is exactly 0, `n` is absent or 1;
 * - it is not streamed (`stream` absent or false): a stream is passed through, not replayed;
 * - it offers no tools or functions (a tool call's effects and answers are not ours to replay);
 * - every message's content is text (an image URL's content can change behind the same URL).
 */
export function isCacheable(request: CacheableRequest): CacheDecision {
  if (request.cache === undefined) return refuse("cache_disabled");
  if (request.dataClass !== "public") return refuse("not_public");
  if (request.dlpFindingCount !== 0) return refuse("dlp_findings");
  const { body } = request;
  if (body.stream !== undefined && body.stream !== false) return refuse("stream");
  if (request.operation === "embeddings") return { cacheable: true, ttlInMs: request.cache.ttlSeconds * 1000 };
  if (body.temperature !== 0) return refuse("not_deterministic");
  if (body.n !== undefined && body.n !== 1) return refuse("multiple_choices");
  if (hasEntries(body.tools) || hasEntries(body.functions) || body.tool_choice !== undefined || body.function_call !== undefined) return refuse("tools");
  if (!textOnly(body.messages)) return refuse("non_text_content");
  return { cacheable: true, ttlInMs: request.cache.ttlSeconds * 1000 };
}

/**
 * The cache key: HMAC-SHA256, under `secret`, of the RFC 8785 canonical JSON of the project, the deployment
 * and the request body (model, messages and every parameter but `stream`, `stream_options`, `n` and `user`).
 * Lower-case hex. Null when the request is not cacheable. The HMAC keeps keys unguessable: without the
 * secret nobody can test whether a given prompt is in the cache.
 */
export function cacheKeyFor(request: CacheableRequest, secret: Uint8Array): string | null {
  if (secret.byteLength < 16) throw new RangeError("The cache key secret must be at least 16 bytes.");
  if (!isCacheable(request).cacheable) return null;
  const canonical = canonicalRequest(request);
  if (canonical === null) return null;
  return createHmac("sha256", secret).update(canonical, "utf8").digest("hex");
}

function canonicalRequest(request: CacheableRequest): string | null {
  const parameters = Object.fromEntries(Object.entries(request.body).filter(([name]) => !IGNORED_FIELDS.has(name)));
  try {
    const operation = request.operation === undefined || request.operation === "chat.completions" ? {} : { operation: request.operation };
    return canonicalize({ v: 1, project: request.projectId, deployment: request.deployment, ...operation, request: parameters }) ?? null;
  } catch {
    return null;
  }
}

function refuse(reason: CacheRefusal): CacheDecision {
  return { cacheable: false, reason };
}

function hasEntries(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
}

function textOnly(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false;
  return messages.every((message: unknown) => {
    if (typeof message !== "object" || message === null) return false;
    const content = (message as { content?: unknown }).content;
    if (content === undefined || content === null || typeof content === "string") return true;
    return Array.isArray(content) && content.every((part: unknown) => typeof part === "object" && part !== null && (part as { type?: unknown }).type === "text");
  });
}
