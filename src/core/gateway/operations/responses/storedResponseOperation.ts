import { PalisadeError } from "../../../errors.js";
import { isRecord } from "../../../isRecord.js";
import { isUpstreamError } from "../../../upstream/CompletionProvider.js";
import { type BackgroundUsageSettlements } from "../../../limits/BackgroundUsageSettlements.js";
import { type ResponseStreamEvent, type StoredResponseAction, type StoredResponseCall, type StoredResponsesProvider } from "../../../upstream/ResponsesProvider.js";
import { type Operation, type OperationStreaming, type UpstreamCallOptions } from "../../pipeline/Operation.js";
import { inspectResponseAnswer, inspectResponseOutput } from "./inspectResponseOutput.js";
import { StoredResponseStreamSession } from "./StoredResponseStreamSession.js";
import { type StoredResponseOwners } from "./StoredResponseOwners.js";
import { type StoredResponseRequest, parseStoredResponseRequest } from "./storedResponseRequest.js";

/** 404, not 403: another project's Response is not confirmed to exist. */
const notFound = (message: string): PalisadeError => new PalisadeError(404, "not_found_error", "response_not_found", message, { param: "response_id" });

const FINAL_EVENTS: ReadonlySet<string> = new Set(["response.completed", "response.incomplete", "response.failed"]);

const GONE_UPSTREAM = "The upstream keeps no Response with this id any more (deleted, or past its retention).";

const NOT_THE_PROJECTS =
  "No stored Response with this id was made by this project through Palisade. Read back only Responses this project made (with store allowed by its policy).";

/**
 * A call on a Response the upstream keeps (`responses.retrieve`, `.delete`, `.cancel`, `.input_items`),
 * governed like any operation: `locate` finds the Response's owner record (404 unless this project
 * made it; the model it was made with is then authorised, and the endpoint that keeps it is the only
 * one called), nothing is sent but the id and the query's names and flags, no tokens are reserved,
 * and what comes back goes through output inspection like a Response that was just made. A retrieve
 * with `stream=true` (a background stream resumed) replays the Response's events through the same
 * streamed inspection as a created stream (StoredResponseStreamSession). A retrieve, stream or cancel
 * that sees a background Response ended settles its usage (`background`), before its answer goes on.
 */
export function createStoredResponseOperation(
  action: StoredResponseAction,
  provider: StoredResponsesProvider,
  owners: StoredResponseOwners,
  background: BackgroundUsageSettlements | null = null,
): Operation<StoredResponseRequest> {
  /** A background Response seen ended (terminal, with usage): its usage settled once (BackgroundUsageSettlements). */
  const settleIfFinished = (response: Readonly<Record<string, unknown>>, body: Readonly<Record<string, unknown>>, options: UpstreamCallOptions): Promise<boolean> | undefined =>
    background === null || options.projectId === undefined
      ? undefined
      : background.settleFinished({ projectId: options.projectId, responseId: String(body.response_id), model: String(body.model), deployment: options.deployment, response });
  return {
    name: `responses.${action}`,
    // The permission that lets a project make Responses lets it read back (and delete) its own.
    permission: "responses.create",
    cacheable: false,

    parse: (body) => parseStoredResponseRequest(body, action),
    model: (request) => request.model,
    endUser: () => undefined,
    isStreamed: (request) => request.streamed,
    checkBounds: () => undefined,

    async locate(request, project) {
      const owner = await owners.ownerOf(request.responseId);
      if (owner?.projectId !== project.id) throw notFound(NOT_THE_PROJECTS);
      if (owner.model === undefined || owner.endpointId === undefined) {
        throw notFound("This Response was made before Palisade kept which model and endpoint made it, so it cannot be reached through Palisade. Make it again, or continue it with previous_response_id.");
      }
      return { request: { ...request, model: owner.model }, endpointId: owner.endpointId };
    },

    // Nothing the caller sends is content: an id, and the names and flags of the query.
    contents: () => [],
    uninspectableParts: () => 0,
    withContents: (request) => request,
    estimateInputTokens: () => 0,
    outputCap: () => 0,
    estimateOutputTokens: () => 0,
    // `model` is not sent (only the id and the query are): a background Response's settlement prices with it.
    upstreamBody: (request) => ({ response_id: request.responseId, query: request.query, model: request.model }),

    async call(endpoint, body, options) {
      try {
        const result = await provider.callStoredResponse(endpoint, callOf(action, body), options);
        if (action === "retrieve" || action === "cancel") await settleIfFinished(result.body, body, options);
        // A read bills nothing: whatever usage the stored Response reports was settled when it was made (or just now, above).
        return { body: result.body, usage: null };
      } catch (error) {
        // The upstream no longer has it (deleted, or past its retention): the caller's 404, not an upstream failure.
        if (isUpstreamError(error) && error.status === 404) throw notFound(GONE_UPSTREAM);
        throw error;
      }
    },
    ...(action === "retrieve" ? { streaming: replayStreaming(provider, (response, body, options) => settleIfFinished(response, body, options)) } : {}),

    // A deleted Response's owner row goes once the upstream says it is deleted (a failed delete keeps it).
    beforeRelease(answer, upstreamBody) {
      return action === "delete" && answer.body.deleted === true ? owners.forget(String(upstreamBody.response_id)) : undefined;
    },

    inspectAnswer(answer, scanner) {
      if (action === "delete") return answer.body;
      if (action !== "input_items") return inspectResponseAnswer(answer.body, scanner);
      // A list of input items: each inspected like an output item (every string of a part without a rule).
      if (scanner.action === "allow" || !Array.isArray(answer.body.data)) return answer.body;
      return { ...answer.body, data: (answer.body.data as unknown[]).map((item) => (isRecord(item) ? inspectResponseOutput(item, (text) => scanner.text(text)) : item)) };
    },
  };
}

/** The call the upstream body (`upstreamBody`) stands for. */
function callOf(action: StoredResponseAction, body: Readonly<Record<string, unknown>>): StoredResponseCall {
  return { action, responseId: String(body.response_id), query: Array.isArray(body.query) ? (body.query as [string, string][]) : [] };
}

/** `GET /responses/{id}?stream=true`: the upstream's replay from the start, inspected as it flows; what the caller has already is dropped. */
function replayStreaming(
  provider: StoredResponsesProvider,
  settle: (response: Readonly<Record<string, unknown>>, body: Readonly<Record<string, unknown>>, options: UpstreamCallOptions) => Promise<boolean> | undefined,
): OperationStreaming<StoredResponseRequest> {
  return {
    async open(endpoint, body, options) {
      try {
        return settlingAtTheEnd(await provider.streamStoredResponse(endpoint, callOf("retrieve", body), options), (response) => settle(response, body, options));
      } catch (error) {
        if (isUpstreamError(error) && error.status === 404) throw notFound(GONE_UPSTREAM);
        throw error;
      }
    },
    session: (request, scanner) => new StoredResponseStreamSession(scanner, request.startingAfter),
  };
}

/** The replay's events, the Response of its final event (`response.completed`, ...) settled before that event goes on. */
async function* settlingAtTheEnd(events: AsyncIterable<ResponseStreamEvent>, settle: (response: Readonly<Record<string, unknown>>) => Promise<boolean> | undefined): AsyncGenerator<ResponseStreamEvent> {
  for await (const event of events) {
    if (FINAL_EVENTS.has(event.type) && isRecord(event.response)) await settle(event.response);
    yield event;
  }
}
