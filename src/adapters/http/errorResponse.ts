import { type HttpResponseInit } from "@azure/functions";
import { PalisadeError, isPalisadeError, toOpenAiErrorBody } from "../../core/errors.js";

/** Maps anything thrown to an OpenAI-shaped error answer. Unknown errors become a 500 that says nothing more. */
export function errorResponse(error: unknown, requestId: string, extraHeaders: Readonly<Record<string, string>> = {}): HttpResponseInit {
  const known = isPalisadeError(error)
    ? error
    : new PalisadeError(500, "api_error", "internal_error", `Palisade could not complete the request. Quote request id ${requestId} when reporting it.`);
  return {
    status: known.status,
    headers: {
      "content-type": "application/json",
      "x-request-id": requestId,
      "x-ms-error-code": known.code,
      ...extraHeaders,
      ...known.headers,
    },
    jsonBody: toOpenAiErrorBody(known),
  };
}
