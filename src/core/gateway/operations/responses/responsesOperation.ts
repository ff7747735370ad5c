import { PalisadeError } from "../../../errors.js";
import { countTextTokens } from "../../../limits/estimatePromptTokens.js";
import { type BackgroundUsageSettlements } from "../../../limits/BackgroundUsageSettlements.js";
import { type ResponsesProvider } from "../../../upstream/ResponsesProvider.js";
import { type Operation, type PlainAnswer } from "../../pipeline/Operation.js";
import { replaceAtPointers } from "../../pipeline/jsonPointer.js";
import { estimateUpstreamTokens } from "../../pipeline/estimateUpstreamTokens.js";
import { requestValidationError } from "../../requestValidationError.js";
import { ResponseHistoryTokens } from "./ResponseHistoryTokens.js";
import { ResponsesStreamSession } from "./ResponsesStreamSession.js";
import { BackgroundStreamSession } from "./BackgroundStreamSession.js";
import { type CompletionUsage } from "../../../upstream/CompletionProvider.js";
import { checkHostedTools } from "./hostedTools.js";
import { checkDataSources } from "../chat/dataSources.js";
import { inspectResponseAnswer } from "./inspectResponseOutput.js";
import { mayStoreResponse } from "./responseStorage.js";
import { checkContinuation, recordingOwner, storedUpstream } from "./responseOwnership.js";
import { InMemoryStoredResponseOwners, type StoredResponseOwner, type StoredResponseOwners } from "./StoredResponseOwners.js";
import { checkResponsesMediaParts, responsesContents, uninspectableResponsesParts } from "./responsesContents.js";
import { type ResponsesRequest, inputItemsOf, responsesRequestSchema } from "./responsesRequest.js";

/** Framing tokens per input item, as for a chat message. */
const TOKENS_PER_ITEM = 3;

/**
 * `POST /v1/responses`, plain and streamed. Inspects instructions, every input item and the tools;
 * inspects output text, refusals and function-call arguments (streamed with the bounded hold-back);
 * decides `store` by policy (responseStorage.ts). Never cached: a Response has an id and may be stored.
 * `owners`: which project made each stored Response; a continuation (`previous_response_id`) passes only
 * for that project (responseOwnership.ts). `history`: the tokens of the stored Responses this instance
 * served, which a request that continues one makes the model read again.
 */
export function createResponsesOperation(
  provider: ResponsesProvider,
  owners: StoredResponseOwners = new InMemoryStoredResponseOwners(),
  history: ResponseHistoryTokens = new ResponseHistoryTokens(),
  background: BackgroundUsageSettlements | null = null,
): Operation<ResponsesRequest> {
  return {
    name: "responses",
    permission: "responses.create",
    cacheable: false,

    parse(body) {
      const parsed = responsesRequestSchema.safeParse(body);
      if (!parsed.success) throw requestValidationError(parsed.error);
      return parsed.data;
    },
    model: (request) => request.model,
    endUser: (request) => request.user,
    isStreamed: (request) => request.stream === true,
    checkContinuation: (request, project) => checkContinuation(owners, request, project),

    checkBounds(request, project) {
      const items = inputItemsOf(request).length;
      if (items > project.maxMessages) {
        throw new PalisadeError(400, "invalid_request_error", "invalid_request", `input has ${items} items; this project allows at most ${project.maxMessages}.`, { param: "input" });
      }
      if (request.max_output_tokens != null && request.max_output_tokens > project.maxTokens) {
        throw new PalisadeError(400, "invalid_request_error", "invalid_request", `max_output_tokens is ${request.max_output_tokens}; this project allows at most ${project.maxTokens}.`, { param: "max_output_tokens" });
      }
      checkResponsesMediaParts(request);
      checkHostedTools(request.tools, project);
      // Azure On Your Data is a chat feature; sent here, it is held to the same list.
      checkDataSources(request, project);
      // The project's part of the store decision, before anything is inspected; the class's part comes in upstreamBody.
      mayStoreResponse(request, project, undefined);
    },

    contents: responsesContents,
    uninspectableParts: uninspectableResponsesParts,
    withContents: (request, replacements) => replaceAtPointers(request, replacements),

    estimateInputTokens: (request, contents) =>
      estimateUpstreamTokens({
        model: request.model,
        contents: contents ?? responsesContents(request),
        definitions: { "/tools": request.tools, "/text": (request as { readonly text?: unknown }).text },
        nonTextParts: uninspectableResponsesParts(request),
        framing: inputItemsOf(request).length * TOKENS_PER_ITEM,
      }) + history.tokensOf(request.previous_response_id),
    outputCap: (request, project) => request.max_output_tokens ?? Math.min(project.defaultMaxTokens ?? project.maxTokens, project.maxTokens),
    estimateOutputTokens: (request, texts) => countTextTokens(request.model, texts.join("")),

    upstreamBody(request, governed) {
      const { user: _user, ...rest } = request;
      const body: Record<string, unknown> = { ...rest, max_output_tokens: governed.outputCap };
      if (!governed.project || !mayStoreResponse(request, governed.project, governed.dataClass)) body.store = false;
      if (governed.user !== null) body.user = governed.user;
      return body;
    },

    async call(endpoint, body, options): Promise<PlainAnswer> {
      const result = await provider.createResponse(endpoint, body, options);
      history.remember(result.body, result.usage);
      return { body: result.body, usage: result.usage };
    },

    // Recorded before the answer goes out, so the caller cannot continue it before the record exists;
    // after the settlement, so a record that fails still leaves the paid call counted. A background
    // Response (queued, no usage yet) leaves what its settlement counted, for the read that sees it end.
    beforeRelease(answer, upstreamBody, served) {
      const id = answer.body.id;
      if (!storedUpstream(upstreamBody) || typeof id !== "string" || id === "") return undefined;
      const recorded = owners.record(id, ownerOf(upstreamBody, served.projectId, served.endpointId));
      const { reservation, settledTokens: tokens } = served;
      if (background === null || reservation === undefined || tokens === undefined || answer.usage !== null || answer.body.background !== true) return recorded;
      return Promise.all([recorded, background.recordCreate({ responseId: id, reservation, tokens })]).then(() => undefined);
    },

    inspectAnswer: (answer, scanner) => inspectResponseAnswer(answer.body, scanner),

    streaming: {
      async open(endpoint, body, options) {
        const events = await provider.streamResponse(endpoint, body, options);
        const projectId = options.projectId;
        if (projectId === undefined || !storedUpstream(body)) return events;
        return recordingOwner(events, (id) => owners.record(id, ownerOf(body, projectId, endpoint.id)));
      },
      session(request, scanner) {
        const remember = (response: Record<string, unknown>, usage: CompletionUsage | null): void => history.remember(response, usage);
        return request.background === true && background !== null ? new BackgroundStreamSession(scanner, remember, background) : new ResponsesStreamSession(scanner, remember);
      },
    },
  };
}

/** The owner record of a Response made with `upstreamBody` (its `model` is the project's model name; the provider sends the deployment). */
function ownerOf(upstreamBody: Readonly<Record<string, unknown>>, projectId: string, endpointId: string): StoredResponseOwner {
  return typeof upstreamBody.model === "string" ? { projectId, model: upstreamBody.model, endpointId } : { projectId, endpointId };
}
