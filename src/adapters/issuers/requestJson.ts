import { CredentialIssuerError } from "../../core/rotation/CredentialIssuer.js";

export interface RequestJsonOptions {
  readonly method: "GET" | "POST" | "DELETE";
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly timeoutInMs: number;
  readonly abortSignal?: AbortSignal;
  readonly fetch: typeof fetch;
}

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * One HTTP call with a JSON body and a deadline. Network failures become a CredentialIssuerError that
 * names the operation only: request and response bodies may hold key material and are never quoted.
 */
export async function requestJson(url: string, operation: string, options: RequestJsonOptions): Promise<JsonResponse> {
  const signals = [AbortSignal.timeout(options.timeoutInMs), ...(options.abortSignal === undefined ? [] : [options.abortSignal])];
  let response: Response;
  try {
    response = await options.fetch(url, {
      method: options.method,
      headers: { accept: "application/json", ...(options.body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.any(signals),
    });
  } catch (error) {
    if (options.abortSignal?.aborted === true) throw error;
    const reason = error instanceof Error ? error.name : "unknown";
    throw new CredentialIssuerError(`${operation} failed before a response (${reason}). Check the endpoint is reachable.`);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  return { status: response.status, body };
}

/** The error code an API put in `{ error: { code } }`, for messages; never the rest of the body. */
export function errorCodeOf(body: unknown): string {
  if (typeof body === "object" && body !== null && "error" in body) {
    const error = body.error;
    if (typeof error === "object" && error !== null && "code" in error) {
      const code = error.code;
      if (typeof code === "string" || typeof code === "number") return String(code).slice(0, 64);
    }
  }
  return "unknown";
}

export const sleep = (ms: number, abortSignal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    abortSignal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(abortSignal.reason as Error);
      },
      { once: true },
    );
  });
