import { PalisadeError } from "../../../errors.js";
import { responsesPolicyOf } from "../../../policy/operationsPolicy.js";
import { type DataClass, type ProjectPolicy } from "../../../policy/schema.js";
import { type ResponsesRequest } from "./responsesRequest.js";

/**
 * Whether the upstream may keep this Response (`store`). It may only where the project says
 * `responses.store: allow` and the request's class is neither pii nor phi. Where it may not, a caller
 * that explicitly asked `store: true`, or that continues a stored response (`previous_response_id`), a
 * stored conversation (`conversation`) or refers to a stored item (an `item_reference` input item), or that
 * runs it in the background (`background: true`, which the API runs only on a stored Response: `store` left
 * out means true), is refused: silently not storing would break its next call in a way it could not understand.
 * Otherwise `store: false` is sent upstream (the API's default is to store).
 */
export function mayStoreResponse(
  request: Pick<ResponsesRequest, "store" | "previous_response_id" | "background"> & { readonly conversation?: unknown; readonly input?: ResponsesRequest["input"] },
  project: ProjectPolicy,
  dataClass: DataClass | undefined,
): boolean {
  // Contradictory whatever the policy says: the upstream would refuse the pair after it was admitted and counted.
  if (request.background === true && request.store === false) {
    throw new PalisadeError(400, "invalid_request_error", "invalid_request", "background: true needs a stored Response, and store is false. Leave store out (or send store: true) to run it in the background, or drop background.", { param: "background" });
  }
  const byProject = responsesPolicyOf(project).store === "allow";
  const byClass = dataClass !== "pii" && dataClass !== "phi";
  if (byProject && byClass) return true;
  const why = byProject ? `requests of class ${dataClass ?? "unknown"} are never stored upstream` : "this project does not let the upstream store responses (responses.store: deny)";
  if (request.store === true) {
    throw new PalisadeError(403, "permission_error", "response_storage_not_allowed", `store: true was refused: ${why}. Send store: false (or leave it out), and pass the conversation in input instead of previous_response_id.`, { param: "store" });
  }
  if (request.background === true) {
    throw new PalisadeError(403, "permission_error", "response_storage_not_allowed", `background: true was refused: ${why}, and a background Response is always stored upstream. Send the request without background (and stream it if it is long).`, { param: "background" });
  }
  if (typeof request.previous_response_id === "string") {
    throw new PalisadeError(403, "permission_error", "response_storage_not_allowed", `previous_response_id was refused: ${why}, so there is no stored response to continue. Send the earlier turns in input instead.`, { param: "previous_response_id" });
  }
  // A conversation (the Conversations API) keeps every turn upstream, whatever `store` says.
  if (request.conversation !== undefined && request.conversation !== null) {
    throw new PalisadeError(403, "permission_error", "response_storage_not_allowed", `conversation was refused: ${why}, and a conversation keeps every turn upstream. Send the earlier turns in input instead.`, { param: "conversation" });
  }
  // An item stored upstream (the AI SDK sends one for each earlier answer while its own `store` is true).
  const referenced = Array.isArray(request.input) ? request.input.findIndex((item) => item.type === "item_reference") : -1;
  if (referenced !== -1) {
    throw new PalisadeError(403, "permission_error", "response_storage_not_allowed", `input[${referenced}] is an item_reference, refused: ${why}, so there is no stored item to refer to. Send the item itself in input (with the AI SDK: providerOptions.openai.store: false).`, { param: `input[${referenced}]` });
  }
  return false;
}
