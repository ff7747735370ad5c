import OpenAI, { APIError } from "openai";

export interface Answer {
  readonly requestId: string;
  readonly status: number;
  readonly code: string | null;
  readonly retryAfter: string | null;
  readonly ms: number;
  readonly startedAt: number;
}

/** One chat completion as an app sends it (the openai SDK, no retries), with what came back. */
export async function ask(baseUrl: string, apiKey: string, requestId: string): Promise<Answer> {
  const client = new OpenAI({ baseURL: baseUrl, apiKey, maxRetries: 0, timeout: 60_000 });
  const startedAt = performance.now();
  try {
    const { response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `hello ${requestId}` }] }, { headers: { "x-request-id": requestId } })
      .withResponse();
    return { requestId, status: response.status, code: null, retryAfter: null, ms: performance.now() - startedAt, startedAt };
  } catch (error) {
    if (!(error instanceof APIError) || error.status === undefined) throw error;
    return { requestId, status: error.status, code: typeof error.code === "string" ? error.code : null, retryAfter: error.headers?.get("retry-after") ?? null, ms: performance.now() - startedAt, startedAt };
  }
}

/** `concurrency` loops sending requests back to back for `durationInMs`; request ids are `<prefix>-<n>`. */
export async function drive(baseUrl: string, apiKey: string, options: { prefix: string; durationInMs: number; concurrency: number }): Promise<Answer[]> {
  const answers: Answer[] = [];
  const until = performance.now() + options.durationInMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < until) {
        const id = `${options.prefix}-${String(next++).padStart(5, "0")}`;
        answers.push(await ask(baseUrl, apiKey, id));
        // A steady rate, not a flood: the point is what each request sees during the fault.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }),
  );
  return answers;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds or the time is up; returns whether it held. A check that throws (a store still recovering) counts as not yet. */
export async function eventually(check: () => Promise<boolean>, timeoutInMs: number, everyInMs = 250): Promise<boolean> {
  const deadline = performance.now() + timeoutInMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (performance.now() > deadline) return false;
    await sleep(everyInMs);
  }
}
