import { PalisadeError } from "../../../errors.js";
import { type ProjectPolicy } from "../../../policy/schema.js";
import { type ContentField, type GovernedFields, type Operation } from "../../pipeline/Operation.js";
import { estimateUpstreamTokens } from "../../pipeline/estimateUpstreamTokens.js";
import { replaceAtPointers } from "../../pipeline/jsonPointer.js";
import { requestValidationError } from "../../requestValidationError.js";
import { type ResponseHistoryTokens } from "./ResponseHistoryTokens.js";
import { checkHostedTools } from "./hostedTools.js";
import { checkContinuation } from "./responseOwnership.js";
import { mayStoreResponse } from "./responseStorage.js";
import { checkResponsesMediaParts, responsesContents, uninspectableResponsesParts } from "./responsesContents.js";
import { inputItemsOf } from "./responsesRequest.js";
import { type ResponsesInputRequest, asResponsesRequest, responsesInputRequestSchema } from "./responsesInputRequest.js";
import { type StoredResponseOwners } from "./StoredResponseOwners.js";

/** Framing tokens per input item, as for a Responses create. */
const TOKENS_PER_ITEM = 3;

/** The parts of an operation on a Responses input that are decided before the upstream call. */
type InputGovernance = Pick<
  Operation<ResponsesInputRequest>,
  "permission" | "cacheable" | "parse" | "model" | "endUser" | "isStreamed" | "checkContinuation" | "checkBounds" | "contents" | "uninspectableParts" | "withContents" | "estimateInputTokens" | "upstreamBody"
>;

/**
 * What `responses.compact` and `responses.inputTokens.count` share with a create, because the upstream
 * reads the same input: the input inspected exactly as a create's (instructions, every item, tools,
 * unknown fields; responsesContents.ts), `previous_response_id` only for the project that made it and
 * no `conversation` (responseOwnership.ts; 403 where the project stores no Responses, responseStorage.ts), the item bound, data parts that hold text refused, hosted
 * tools gated (hostedTools.ts), and the input-token estimate (the history of a continued Response
 * included). `user` goes upstream only as its pseudonym.
 */
export function responsesInputGovernance(owners: StoredResponseOwners, history: ResponseHistoryTokens): InputGovernance {
  return {
    // Both send the conversation to the model provider, as a create does: the same permission.
    permission: "responses.create",
    // A compaction has an id and a count is cheap: neither is served from the cache.
    cacheable: false,
    parse(body) {
      const parsed = responsesInputRequestSchema.safeParse(body);
      if (!parsed.success) throw requestValidationError(parsed.error);
      return parsed.data;
    },
    model: (request) => request.model,
    endUser: (request) => request.user,
    isStreamed: (request) => request.stream === true,
    checkContinuation: (request, project) => checkContinuation(owners, asResponsesRequest(request), project),

    checkBounds(request: ResponsesInputRequest, project: ProjectPolicy) {
      const items = inputItemsOf(asResponsesRequest(request)).length;
      if (items > project.maxMessages) {
        throw new PalisadeError(400, "invalid_request_error", "invalid_request", `input has ${items} items; this project allows at most ${project.maxMessages}.`, { param: "input" });
      }
      checkResponsesMediaParts(asResponsesRequest(request));
      checkHostedTools(request.tools, project);
      // As for a create: where the project stores nothing, there is nothing to continue (403, not 404).
      mayStoreResponse(asResponsesRequest(request), project, undefined);
    },

    contents: (request) => responsesContents(asResponsesRequest(request)),
    uninspectableParts: (request) => uninspectableResponsesParts(asResponsesRequest(request)),
    withContents: (request, replacements) => replaceAtPointers(request, replacements),

    estimateInputTokens: (request, contents?: readonly ContentField[]) =>
      estimateUpstreamTokens({
        model: request.model,
        contents: contents ?? responsesContents(asResponsesRequest(request)),
        definitions: { "/tools": request.tools, "/text": (request as { readonly text?: unknown }).text },
        nonTextParts: uninspectableResponsesParts(asResponsesRequest(request)),
        framing: inputItemsOf(asResponsesRequest(request)).length * TOKENS_PER_ITEM,
      }) + history.tokensOf(request.previous_response_id),

    // Nothing is stored and nothing is generated beyond what the API returns: no `store` or cap is added.
    upstreamBody(request, governed: GovernedFields) {
      const { user: _user, ...rest } = request;
      return governed.user === null ? rest : { ...rest, user: governed.user };
    },
  };
}
