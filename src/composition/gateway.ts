import { type ChatCompletionRequest } from "../core/gateway/operations/chat/chatRequest.js";
import { createChatOperation } from "../core/gateway/operations/chat/chatOperation.js";
import { GovernedPipeline } from "../core/gateway/pipeline/GovernedPipeline.js";
import { type Operation } from "../core/gateway/pipeline/Operation.js";
import { type PipelineDeps } from "../core/gateway/pipeline/PipelineDeps.js";
import { UsageFlush } from "../core/gateway/UsageFlush.js";
import { type EmbeddingsRequest } from "../core/gateway/operations/embeddings/embeddingsRequest.js";
import { createEmbeddingsOperation } from "../core/gateway/operations/embeddings/embeddingsOperation.js";
import { type ResponsesRequest } from "../core/gateway/operations/responses/responsesRequest.js";
import { createResponsesOperation } from "../core/gateway/operations/responses/responsesOperation.js";
import { createCompactOperation } from "../core/gateway/operations/responses/compactOperation.js";
import { createInputTokensOperation } from "../core/gateway/operations/responses/inputTokensOperation.js";
import { ResponseHistoryTokens } from "../core/gateway/operations/responses/ResponseHistoryTokens.js";
import { type ResponsesInputRequest } from "../core/gateway/operations/responses/responsesInputRequest.js";
import { type StoredResponseOwners } from "../core/gateway/operations/responses/StoredResponseOwners.js";
import { createStoredResponseOperation } from "../core/gateway/operations/responses/storedResponseOperation.js";
import { type StoredResponseRequest } from "../core/gateway/operations/responses/storedResponseRequest.js";
import { type UpstreamProvider } from "../core/upstream/UpstreamProvider.js";
import { BackgroundUsageSettlements } from "../core/limits/BackgroundUsageSettlements.js";
import { type UsageCounterStore } from "../core/limits/UsageCounterStore.js";

/** The operations the routes map to (each holds its provider port). */
export interface GatewayOperations {
  readonly chat: Operation<ChatCompletionRequest>;
  readonly embeddings: Operation<EmbeddingsRequest>;
  readonly responses: Operation<ResponsesRequest>;
  /** `GET /responses/{id}`: a stored Response read back by the project that made it. */
  readonly retrieveResponse: Operation<StoredResponseRequest>;
  /** `DELETE /responses/{id}`: the maker deletes it upstream, then its owner record goes. */
  readonly deleteResponse: Operation<StoredResponseRequest>;
  /** `POST /responses/{id}/cancel`: the maker cancels a background Response. */
  readonly cancelResponse: Operation<StoredResponseRequest>;
  /** `GET /responses/{id}/input_items`: the maker lists what it sent, inspected like output. */
  readonly listResponseInputItems: Operation<StoredResponseRequest>;
  /** `POST /responses/compact`: a conversation compacted by the model, governed like a create. */
  readonly compactResponse: Operation<ResponsesInputRequest>;
  /** `POST /responses/input_tokens`: a request's input counted upstream (its input governed like a create's). */
  readonly countInputTokens: Operation<ResponsesInputRequest>;
}

export interface Gateway {
  readonly pipeline: GovernedPipeline;
  readonly operations: GatewayOperations;
  readonly usageFlush: UsageFlush;
}

export interface GatewayPorts {
  readonly provider: UpstreamProvider;
  /** Which project made each stored Response (shared by every instance). */
  readonly responseOwners: StoredResponseOwners;
  /** The counters limits use: a background Response's usage is settled there once it ends. Absent: left at the reservation. */
  readonly usageStore?: UsageCounterStore;
}

/** Wires the governed pipeline, its operations and the usage flush from the app's adapters. */
export function createGateway(deps: PipelineDeps, ports: GatewayPorts): Gateway {
  const pipeline = new GovernedPipeline(deps);
  // What continuing a Response makes the model read again, shared by the operations that continue one.
  const history = new ResponseHistoryTokens();
  const background = ports.usageStore ? new BackgroundUsageSettlements({ store: ports.usageStore, policy: deps.policy, logger: deps.logger }) : null;
  const operations: GatewayOperations = {
    chat: createChatOperation(ports.provider),
    embeddings: createEmbeddingsOperation(ports.provider),
    responses: createResponsesOperation(ports.provider, ports.responseOwners, history, background),
    retrieveResponse: createStoredResponseOperation("retrieve", ports.provider, ports.responseOwners, background),
    deleteResponse: createStoredResponseOperation("delete", ports.provider, ports.responseOwners),
    cancelResponse: createStoredResponseOperation("cancel", ports.provider, ports.responseOwners, background),
    listResponseInputItems: createStoredResponseOperation("input_items", ports.provider, ports.responseOwners),
    compactResponse: createCompactOperation(ports.provider, ports.responseOwners, history),
    countInputTokens: createInputTokensOperation(ports.provider, ports.responseOwners, history),
  };
  const usageFlush = new UsageFlush({ policy: deps.policy, limits: deps.limits, events: pipeline.events, auditPublisherFor: deps.auditPublisherFor });
  return { pipeline, operations, usageFlush };
}
