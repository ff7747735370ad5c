import { type TableClient } from "@azure/data-tables";
import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, type HttpClient, RestError } from "@azure/core-rest-pipeline";
import { randomUUID } from "node:crypto";
import { buildEntityGroupRequest, type EntityGroupOperation, parseEntityGroupResponse, type SubResponse } from "./entityGroupBody.js";

let sharedHttpClient: HttpClient | undefined;
/** One keep-alive HTTP client for every transaction of the process (the SDK keeps one per process too). */
const defaultHttpClient = (): HttpClient => (sharedHttpClient ??= createDefaultHttpClient());

export interface SubmitEntityGroupOptions {
  readonly abortSignal?: AbortSignal;
  /** The HTTP client under the table's pipeline (tests count or break requests with it). */
  readonly httpClient?: HttpClient;
}

/**
 * Sends one entity-group transaction through the TableClient's own pipeline (its credential, retries,
 * timeouts and the app's dependency policy): ONE pipeline run for the whole transaction, where the SDK's
 * `submitTransaction` runs it once per row to build the body and once more to send it. Resolves with the
 * sub-responses in request order; throws a RestError with the failing operation's status and code
 * (409 a row exists, 412 an If-Match failed, 404 the row to replace is gone), as the SDK does.
 */
export async function submitEntityGroupTransaction(table: TableClient, operations: readonly EntityGroupOperation[], options: SubmitEntityGroupOptions = {}): Promise<SubResponse[]> {
  const built = buildEntityGroupRequest(table.url, table.tableName, operations, { batchId: randomUUID(), changesetId: randomUUID() });
  const request = createPipelineRequest({
    url: built.url,
    method: "POST",
    headers: createHttpHeaders(built.headers),
    body: built.body,
    ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
    allowInsecureConnection: built.url.startsWith("http:"),
  });
  const response = await table.pipeline.sendRequest(options.httpClient ?? defaultHttpClient(), request);
  const parsed = parseEntityGroupResponse(response.status, response.bodyAsText ?? "");
  if (parsed.ok) return parsed.subResponses;
  const { failure } = parsed;
  throw new RestError(failure.message, { statusCode: failure.status, ...(failure.code === undefined ? {} : { code: failure.code }), request, response });
}
