/** What a mock upstream can be told to do wrong, per endpoint (admin API) or per request (prompt directive). */
export interface MockFault {
  /** Answer with this status and an OpenAI-shaped error body. */
  readonly status?: number;
  /** The error body's `code` (e.g. `content_filter`, `context_length_exceeded`); default the status. */
  readonly errorCode?: string;
  /** Seconds, sent as `retry-after` (with `retry-after-ms`) on the error answer. */
  readonly retryAfterSeconds?: number;
  /** Wait this long before answering. */
  readonly latencyInMs?: number;
  /** Destroy the connection without answering. */
  readonly drop?: boolean;
  /** Streams only: end the stream after this many content chunks, without [DONE]. */
  readonly truncateAfterChunks?: number;
  /** Streamed Responses only: wait this long before each text delta (a model that takes its time). */
  readonly paceInMs?: number;
  /** Apply to this many requests, then clear (default: until cleared). */
  readonly times?: number;
}

const DIRECTIVE = /\[\[mock:([^\]]*)\]\]/;

export interface PromptDirectives {
  readonly fault: MockFault | null;
  /** Reply with the last user message instead of the canned text. */
  readonly echo: boolean;
}

/**
 * Reads `[[mock:status=429,retry-after=2,latency=50,drop,truncate=3,pace=20,echo,code=content_filter]]` from the prompt, so a test
 * can drive one request's fate through the gateway without touching the mock's shared state.
 */
export function directivesIn(prompt: string): PromptDirectives {
  const match = DIRECTIVE.exec(prompt);
  if (!match) return { fault: null, echo: false };
  const fault: { -readonly [K in keyof MockFault]: MockFault[K] } = {};
  let echo = false;
  for (const item of (match[1] ?? "").split(",")) {
    const [rawKey, rawValue] = item.split("=");
    const key = (rawKey ?? "").trim();
    const value = Number(rawValue);
    if (key === "status" && Number.isInteger(value)) fault.status = value;
    else if (key === "retry-after" && Number.isFinite(value)) fault.retryAfterSeconds = value;
    else if (key === "latency" && Number.isFinite(value)) fault.latencyInMs = value;
    else if (key === "truncate" && Number.isInteger(value)) fault.truncateAfterChunks = value;
    else if (key === "pace" && Number.isFinite(value)) fault.paceInMs = value;
    else if (key === "drop") fault.drop = true;
    else if (key === "code" && rawValue !== undefined) fault.errorCode = rawValue.trim();
    else if (key === "echo") echo = true;
  }
  return { fault: Object.keys(fault).length > 0 ? fault : null, echo };
}
