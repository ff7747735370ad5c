import { type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { PalisadeError, isPalisadeError, toOpenAiErrorBody } from "../../core/errors.js";
import { countUnexpectedError } from "../telemetry/unexpectedErrorCounter.js";

/** Where a function reports an unexpected error: its invocation context (the Functions host's log). */
export type ErrorReporter = Pick<InvocationContext, "error" | "functionName">;

/**
 * What a function answers when it caught `error`: errorResponse's answer, and for an error nobody
 * anticipated (not a PalisadeError) a report first, so a 500 always leaves a trace.
 */
export function failureResponse(error: unknown, requestId: string, context: ErrorReporter, extraHeaders: Readonly<Record<string, string>> = {}): HttpResponseInit {
  if (!isPalisadeError(error)) reportUnexpectedError(error, requestId, context);
  return errorResponse(error, requestId, extraHeaders);
}

/**
 * Logs an unexpected error at error level through the invocation context (in Azure the host forwards
 * it to Application Insights as an error-severity trace of the invocation's operation) with the request
 * id, the error's name, message and stack, and counts it (`palisade.errors.unexpected`). Errors carry
 * no prompt or completion; credential-shaped values a message might hold are masked all the same.
 */
export function reportUnexpectedError(error: unknown, requestId: string, context: ErrorReporter): void {
  const name = error instanceof Error ? error.name : typeof error;
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : `a non-Error value (${typeof error}) was thrown`;
  context.error(`unexpected error, answered 500 internal_error; request ${requestId}: ${maskCredentials(detail)}`);
  countUnexpectedError(context.functionName, name);
}

/** Masks `secret=...`-style pairs, bearer tokens and Palisade keys, in case an SDK's message quotes one. */
function maskCredentials(text: string): string {
  return text
    .replace(/\bBearer\s+[\w.~+/=-]+/gi, "Bearer [masked]")
    .replace(/\bpal_[\w-]+/g, "pal_[masked]")
    .replace(/\b(secret|password|pwd|accountkey|sharedaccesskey|sig|token|api[-_]?key|client_secret)(\s*[=:]\s*)("?)[^\s;&",]+/gi, "$1$2$3[masked]");
}

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
