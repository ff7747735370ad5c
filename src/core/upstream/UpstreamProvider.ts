import { type CompletionProvider } from "./CompletionProvider.js";
import { type EmbeddingsProvider } from "./EmbeddingsProvider.js";
import { type ResponsesInputProvider } from "./ResponsesInputProvider.js";
import { type ResponsesProvider, type StoredResponsesProvider } from "./ResponsesProvider.js";

/** Everything the gateway asks of an upstream: chat completions, embeddings and the Responses API (stored Responses, compaction and input-token counts too). */
export type UpstreamProvider = CompletionProvider & EmbeddingsProvider & ResponsesProvider & StoredResponsesProvider & ResponsesInputProvider;
