import { PalisadeError } from "../../errors.js";
import { upstreamContentFiltered } from "../../safety/safetyErrors.js";
import { isUpstreamError } from "../../upstream/CompletionProvider.js";

/** What the caller and the audit trail are told for the upstream's own 4xx codes; never the upstream's text. */
const KNOWN_CODES: Readonly<Record<string, { readonly code: "content_filter" | "context_length_exceeded"; readonly message: string }>> = {
  content_filter: {
    code: "content_filter",
    message: "The upstream model service's content filter refused this request (Azure OpenAI content management policy). Change the prompt; the filter's categories are in the upstream's documentation.",
  },
  context_length_exceeded: {
    code: "context_length_exceeded",
    message: "The request is longer than the model's context window allows (prompt plus max_tokens). Shorten the messages or lower max_tokens.",
  },
};
const CODE_ALIASES: Readonly<Record<string, string>> = { ResponsibleAIPolicyViolation: "content_filter", content_policy_violation: "content_filter", string_above_max_length: "context_length_exceeded" };

/**
 * An upstream that refused the request itself (fatal) as an error the caller can act on, keeping
 * the upstream's code (a content-filter refusal and a context-length error are told apart) and a
 * message of Palisade's own words; anything else unchanged.
 */
export function upstreamRefusal(error: unknown): unknown {
  if (!isUpstreamError(error) || error.kind !== "fatal") return error;
  const status = error.status;
  if (status === 400 || status === 404 || status === 413 || status === 422) {
    const upstreamCode = error.upstream.code;
    const canonical = upstreamCode === undefined ? undefined : (CODE_ALIASES[upstreamCode] ?? upstreamCode);
    // Azure OpenAI's own content filter: the same error shape and audit event as Palisade's, with the source named.
    if (canonical === "content_filter") return upstreamContentFiltered(error.upstream.contentFilterResult, error);
    const known = canonical === undefined ? undefined : KNOWN_CODES[canonical];
    if (known) return new PalisadeError(400, "invalid_request_error", known.code, known.message, { param: error.upstream.param ?? null, cause: error });
    const named = upstreamCode === undefined ? "" : ` with code ${upstreamCode}`;
    return new PalisadeError(400, "invalid_request_error", "upstream_invalid_request", `The upstream model service refused this request as invalid (HTTP ${status}${named}). Check its parameters and content.`, {
      param: error.upstream.param ?? null,
      cause: error,
    });
  }
  return new PalisadeError(502, "api_error", "upstream_error", "The upstream model service refused the call. Retry later; if it persists, tell the operator.", { cause: error });
}

/** The upstream's status and code behind a refusal, for the audit event's details. */
export function upstreamDetails(error: unknown): Record<string, string | number> {
  const cause = error instanceof Error ? error.cause : undefined;
  if (!isUpstreamError(cause)) return {};
  return { ...(cause.status === null ? {} : { upstreamStatus: cause.status }), ...(cause.upstream.code === undefined ? {} : { upstreamCode: cause.upstream.code }) };
}
