/**
 * Domain errors with stable codes. Every error a caller can see maps to an OpenAI-shaped body
 * `{"error":{"message","type","code","param"}}`; the code is also sent as `x-ms-error-code`.
 * Messages say what was wrong and what to do next, and never carry secrets, prompt text or the
 * sensitive values that were found.
 */

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "api_error"
  | "service_unavailable_error";

export const ERROR_CODES = [
  "invalid_json",
  "invalid_request",
  "unsupported_media_type",
  "request_too_large",
  "not_found",
  "missing_api_key",
  "invalid_api_key",
  "expired_api_key",
  "revoked_api_key",
  "invalid_token",
  "expired_token",
  "insufficient_role",
  "not_a_project_member",
  "missing_permission",
  "ip_not_allowed",
  "model_not_allowed",
  "sensitive_data_detected",
  "inspection_failed",
  "content_safety_unavailable",
  "rate_limit_exceeded",
  "budget_exceeded",
  "model_not_priced",
  "limits_unavailable",
  "no_compliant_endpoint",
  "upstream_error",
  "upstream_invalid_request",
  "content_filter",
  "context_length_exceeded",
  "uninspectable_content",
  "audit_unavailable",
  "dependency_unavailable",
  "internal_error",
  "response_storage_not_allowed",
  "endpoint_not_governed",
  "tool_not_allowed",
  "data_source_not_allowed",
  "response_not_found",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface PalisadeErrorOptions {
  readonly param?: string | null;
  /** Extra response headers (for example `retry-after`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
  /** Azure OpenAI's `innererror` (content filter results): names and severities only, never text. */
  readonly innerError?: Readonly<Record<string, unknown>>;
}

export class PalisadeError extends Error {
  override readonly name = "PalisadeError";
  readonly param: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly innerError: Readonly<Record<string, unknown>> | undefined;

  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: ErrorCode,
    message: string,
    options: PalisadeErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    this.innerError = options.innerError;
  }
}

/** Checked by name, not instanceof, so it holds across package and realm boundaries. */
export function isPalisadeError(value: unknown): value is PalisadeError {
  return value instanceof Error && value.name === "PalisadeError" && "code" in value && "status" in value;
}

export const invalidRequest = (message: string, param: string | null = null): PalisadeError =>
  new PalisadeError(400, "invalid_request_error", "invalid_request", message, { param });

/**
 * A dependency (Table Storage, Service Bus, Key Vault) is down or partitioned: a 503 the client may retry,
 * never a 500. Adapters throw it at their boundary, naming the dependency (never a URL or a key).
 */
export const dependencyUnavailable = (dependency: string, options: { retryAfterInSeconds?: number; cause?: unknown } = {}): PalisadeError =>
  new PalisadeError(503, "service_unavailable_error", "dependency_unavailable", `A service Palisade depends on (${dependency}) is unavailable. Retry shortly.`, {
    headers: { "retry-after": String(options.retryAfterInSeconds ?? 5), "x-palisade-dependency": dependency },
    cause: options.cause,
  });

/** Turns anything thrown into an Error, so callers never have to guess. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : "Non-Error value thrown", { cause: value });
}

export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: ErrorType;
    readonly code: ErrorCode;
    readonly param: string | null;
    readonly innererror?: Readonly<Record<string, unknown>>;
  };
}

export function toOpenAiErrorBody(error: PalisadeError): OpenAiErrorBody {
  const body = { message: error.message, type: error.type, code: error.code, param: error.param };
  return { error: error.innerError === undefined ? body : { ...body, innererror: error.innerError } };
}
