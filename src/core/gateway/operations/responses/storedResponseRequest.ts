import { z } from "zod";
import { PalisadeError } from "../../../errors.js";
import { type StoredResponseAction } from "../../../upstream/ResponsesProvider.js";
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
  /** `stream=true` on a retrieve: the Response's events replayed (a background stream resumed). */
  readonly streamed: boolean;
  /** `starting_after`: the last event the caller has of that stream (its `sequence_number`); null: from the start. */
  readonly startingAfter: number | null;
}

/**
 * Query parameters of the API on a stored Response: what to include, and paging. Anything else
 * (`api-version` from Azure clients, a parameter newer than Palisade) is not passed on. `stream` and
 * `starting_after` are read, not passed on as sent (the replay is always asked from its start).
 */
const QUERY_NAMES: ReadonlySet<string> = new Set(["include", "include[]", "include_obfuscation", "after", "before", "limit", "order"]);

const refused = (message: string, param: string): PalisadeError => new PalisadeError(400, "invalid_request_error", "invalid_request", message, { param });

/**
 * Parses the route's input. `stream=true` (with `starting_after`) is a retrieve's only: on any other
 * call, and `starting_after` without `stream=true`, it is refused (400).
 */
export function parseStoredResponseRequest(body: unknown, action: StoredResponseAction = "retrieve"): StoredResponseRequest {
  const parsed = storedResponseInputSchema.safeParse(body);
  if (!parsed.success) throw requestValidationError(parsed.error);
  const { response_id: responseId, query } = parsed.data;
  const valueOf = (name: string): string | undefined => query.findLast(([key]) => key === name)?.[1];
  const stream = valueOf("stream");
  if (stream !== undefined && stream !== "true" && stream !== "false") throw refused(`stream must be true or false, not "${stream.slice(0, 16)}".`, "stream");
  const streamed = stream === "true";
  if (streamed && action !== "retrieve") throw refused("Only a retrieve (GET /responses/{id}) streams a stored Response back. Send this call without stream.", "stream");
  const after = valueOf("starting_after");
  if (after !== undefined && !streamed) throw refused("starting_after resumes a stream: send it with stream=true.", "starting_after");
  if (after !== undefined && !/^\d{1,9}$/.test(after)) throw refused("starting_after must be the sequence_number of an event of the stream (a non-negative integer).", "starting_after");
  return { responseId, query: query.filter(([name]) => QUERY_NAMES.has(name)), model: "", streamed, startingAfter: after === undefined ? null : Number(after) };
}
