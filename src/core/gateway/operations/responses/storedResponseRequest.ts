import { z } from "zod";
import { PalisadeError } from "../../../errors.js";
import { requestValidationError } from "../../requestValidationError.js";

/**
 * A call on a stored Response (`GET /responses/{id}` and its neighbours), as the route hands it over:
 * the id from the path, the query as pairs. No body: nothing in it is content.
 */
const storedResponseInputSchema = z
  .object({
    response_id: z.string().min(1, "response_id must not be empty").max(256),
    query: z.array(z.tuple([z.string().max(64), z.string().max(256)])).max(32).default([]),
  })
  .strict();

export interface StoredResponseRequest {
  readonly responseId: string;
  /** What is passed on to the upstream: the API's own names and flags only (QUERY_NAMES). */
  readonly query: readonly (readonly [string, string])[];
  /** The project's model it was made with: "" until located (Operation.locate). */
  readonly model: string;
}

/**
 * Query parameters of the API on a stored Response: what to include, and paging. Anything else
 * (`api-version` from Azure clients, a parameter newer than Palisade) is not passed on.
 */
const QUERY_NAMES: ReadonlySet<string> = new Set(["include", "include[]", "include_obfuscation", "after", "before", "limit", "order"]);

/** Parses the route's input; `stream=true` (and `starting_after`, which only a stream reads) is refused: a replayed stream is not governed. */
export function parseStoredResponseRequest(body: unknown): StoredResponseRequest {
  const parsed = storedResponseInputSchema.safeParse(body);
  if (!parsed.success) throw requestValidationError(parsed.error);
  const { response_id: responseId, query } = parsed.data;
  const streamed = query.find(([name]) => name === "stream" || name === "starting_after");
  if (streamed !== undefined && !(streamed[0] === "stream" && streamed[1] === "false")) {
    throw new PalisadeError(
      400,
      "invalid_request_error",
      "invalid_request",
      "Palisade does not stream a stored Response back (stream=true or starting_after): its events could not be inspected like a live stream's. Retrieve it without stream, or poll until its status is completed.",
      { param: "stream" },
    );
  }
  return { responseId, query: query.filter(([name]) => QUERY_NAMES.has(name)), model: "" };
}
