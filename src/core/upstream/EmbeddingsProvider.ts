import { type EndpointPolicy } from "../policy/schema.js";
import { type CompletionCallOptions, type CompletionUsage } from "./CompletionProvider.js";

/** An upstream embeddings answer, as a plain JSON object in OpenAI's shape (`data` holds the vectors, float or base64). */
export interface EmbeddingsResult {
  readonly body: Readonly<Record<string, unknown>> & { readonly data: readonly unknown[] };
  /** Embeddings have input tokens only: `completionTokens` is always 0. */
  readonly usage: CompletionUsage | null;
}

/**
 * Calls one upstream endpoint's embeddings. The body is OpenAI's embeddings body; the provider maps the
 * model to `options.deployment` and sends `encoding_format` as given (float when absent, the API's
 * default), so the vectors come back exactly as the upstream encoded them. Never retries.
 */
export interface EmbeddingsProvider {
  createEmbeddings(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<EmbeddingsResult>;
}
