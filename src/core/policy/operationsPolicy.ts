import { z } from "zod";

/**
 * What the policy says per operation (chat, embeddings, the Responses API): which endpoints serve which
 * operation, and each operation's project settings. Imported by schema.ts.
 */

export const OPERATION_KINDS = ["chat", "embeddings", "responses"] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * An endpoint that declares nothing serves chat and the Responses API (both run on chat models), as
 * every endpoint served chat before operations existed; an embeddings deployment must say so.
 */
export const DEFAULT_ENDPOINT_OPERATIONS: readonly OperationKind[] = ["chat", "responses"];

/** Optional (read through `endpointServes`), so endpoints built in code need not name it. */
export const endpointOperationsSchema = z.array(z.enum(OPERATION_KINDS)).min(1, "an endpoint serves at least one operation").optional();

/** The operation kind an endpoint must serve for a pipeline operation (`chat.completions` is chat; `responses.retrieve` and the other calls on a stored Response are responses). */
export function operationKindOf(operationName: string): OperationKind {
  if (operationName === "embeddings" || operationName === "responses") return operationName;
  if (operationName.startsWith("responses.")) return "responses";
  return "chat";
}

export function endpointServes(endpoint: { readonly operations?: readonly OperationKind[] | undefined }, kind: OperationKind): boolean {
  return (endpoint.operations ?? DEFAULT_ENDPOINT_OPERATIONS).includes(kind);
}

/**
 * A host as the policy names it: lower-case letters, digits, dots and dashes (no scheme, port or
 * path), compared with the host a data source names.
 */
const hostSchema = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a host name in lower case (contoso-eu.search.windows.net), without scheme, port or path");

/**
 * The Responses API can keep a response (and its input) upstream for 30 days when `store` is true, its
 * default. That is a data-retention decision, so the project decides: `deny` (the default) sends
 * `store: false` upstream, refuses a caller who explicitly asks `store: true`, and refuses
 * `previous_response_id` (nothing was stored to continue from). pii and phi are always denied.
 */
export const responsesPolicySchema = z
  .object({
    store: z.enum(["deny", "allow"]).default("deny"),
    /**
     * Tools the model provider runs itself (web_search, file_search, code_interpreter, mcp, ...) send
     * the conversation to services Palisade does not govern, and their results reach the model and the
     * answer uninspected: refused unless their type is listed here (chat's `web_search_options` is
     * `web_search`). Tools the caller runs (function, custom, ...) are always allowed. An `mcp` tool's server
     * must be at a host in `mcpServers` too.
     */
    hostedTools: z.array(z.string().min(1).max(64)).default([]),
    /**
     * With `mcp` listed: the hosts its tools' `server_url` may name (the provider sends the conversation
     * there). Empty: every MCP server is refused, and a connector (`connector_id`, no URL) always is.
     */
    mcpServers: z.array(hostSchema).default([]),
  })
  .strict();

/**
 * Azure On Your Data (`data_sources` on chat): the provider queries a search service with the
 * conversation, and the documents it finds reach the model uninspected. A source passes only where
 * its type is listed here AND every host it names is listed for that type (dataSources.ts). For
 * pinecone, which names no host, the host is its `environment`.
 */
const dataSourceSchema = z
  .object({
    type: z.string().min(1).max(64),
    hosts: z.array(hostSchema).min(1, "list the hosts (endpoints) a source of this type may name"),
  })
  .strict();

export const chatPolicySchema = z
  .object({
    /** Unset or empty: every `data_sources` request is refused (403 data_source_not_allowed). */
    dataSources: z.array(dataSourceSchema).default([]),
  })
  .strict();

/**
 * Token-array input (`input: [[1, 2, ...]]`) cannot be read by DLP. Refused unless the project says
 * `allow`, and then only where `uninspectableInputs` is `allow` too.
 */
export const embeddingsPolicySchema = z
  .object({
    tokenInput: z.enum(["deny", "allow"]).default("deny"),
    /** At most this many inputs per request (OpenAI allows 2048). */
    maxInputs: z.number().int().positive().max(2048).default(2048),
  })
  .strict();

export type ChatPolicy = z.infer<typeof chatPolicySchema>;
export type ResponsesPolicy = z.infer<typeof responsesPolicySchema>;
export type EmbeddingsPolicy = z.infer<typeof embeddingsPolicySchema>;
const DEFAULT_CHAT_POLICY: ChatPolicy = { dataSources: [] };
const DEFAULT_RESPONSES_POLICY: ResponsesPolicy = { store: "deny", hostedTools: [], mcpServers: [] };
const DEFAULT_EMBEDDINGS_POLICY: EmbeddingsPolicy = { tokenInput: "deny", maxInputs: 2048 };

/** A project's settings are optional in the parsed policy (projects built in code need not name them): read them through these. */
export const chatPolicyOf = (project: { readonly chat?: ChatPolicy | undefined }): ChatPolicy => project.chat ?? DEFAULT_CHAT_POLICY;
export const responsesPolicyOf = (project: { readonly responses?: ResponsesPolicy | undefined }): ResponsesPolicy => project.responses ?? DEFAULT_RESPONSES_POLICY;
export const embeddingsPolicyOf = (project: { readonly embeddings?: EmbeddingsPolicy | undefined }): EmbeddingsPolicy => project.embeddings ?? DEFAULT_EMBEDDINGS_POLICY;
