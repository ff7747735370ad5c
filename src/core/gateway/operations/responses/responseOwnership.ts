import { PalisadeError } from "../../../errors.js";
import { type ProjectPolicy } from "../../../policy/schema.js";
import { type ResponseStreamEvent } from "../../../upstream/ResponsesProvider.js";
import { isRecord } from "../../../isRecord.js";
import { type ResponsesRequest } from "./responsesRequest.js";
import { type StoredResponseOwners } from "./StoredResponseOwners.js";

/** 404, not 403: another project's Response is not confirmed to exist. */
function notFound(param: "previous_response_id" | "conversation", message: string): PalisadeError {
  return new PalisadeError(404, "not_found_error", "response_not_found", message, { param });
}

/**
 * A continuation passes only for the project that made what it continues. `previous_response_id`: the
 * owner record must name this project (an id with no record — made outside Palisade, or before owners
 * were recorded — is refused the same way). `conversation`: Palisade creates no conversations, so it
 * cannot know whose one is: always refused. Undefined when the request continues nothing.
 */
export function checkContinuation(owners: StoredResponseOwners, request: ResponsesRequest, project: ProjectPolicy): Promise<void> | undefined {
  const conversation = (request as { readonly conversation?: unknown }).conversation;
  if (conversation !== undefined && conversation !== null) {
    return Promise.reject(
      notFound("conversation", "conversation was refused: Palisade does not create conversations, so it cannot tell which project a conversation belongs to. Send the earlier turns in input, or continue a Response this project made (previous_response_id)."),
    );
  }
  const previous = request.previous_response_id;
  if (typeof previous !== "string") return undefined;
  return owners.ownerOf(previous).then((owner) => {
    if (owner?.projectId !== project.id) {
      throw notFound("previous_response_id", "previous_response_id names no stored Response this project made through Palisade. Continue one of this project's own Responses, or send the earlier turns in input.");
    }
  });
}

/** Whether the body sent upstream lets the upstream store the Response (the API stores unless told `store: false`). */
export const storedUpstream = (body: Readonly<Record<string, unknown>>): boolean => body.store !== false;

/**
 * The upstream's events, with the Response's owner recorded before the first event that carries its id
 * (`response.created`, the first) goes on: nothing of the answer reaches the caller before the record
 * exists, so the caller cannot race a continuation ahead of it. A failed record ends the stream.
 */
export async function* recordingOwner(events: AsyncIterable<ResponseStreamEvent>, record: (responseId: string) => Promise<void>): AsyncGenerator<ResponseStreamEvent> {
  let recorded = false;
  for await (const event of events) {
    if (!recorded) {
      const id = isRecord(event.response) ? event.response.id : undefined;
      if (typeof id === "string" && id !== "") {
        await record(id);
        recorded = true;
      }
    }
    yield event;
  }
}
