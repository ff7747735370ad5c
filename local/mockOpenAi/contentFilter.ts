import { type ServerResponse } from "node:http";

/**
 * Azure OpenAI's own content filter, as the mock upstream plays it. Directive in the prompt:
 * `[[mock-filter:annotate]]` adds `prompt_filter_results` / `content_filter_results` to the answer
 * (plain and streamed), `[[mock-filter:prompt=jailbreak]]` (or hate, violence, indirect_attack, ...)
 * refuses the prompt with Azure's 400 `content_filter` error, `[[mock-filter:completion=violence]]`
 * ends the answer with `finish_reason: "content_filter"`.
 */
const DIRECTIVE = /\[\[mock-filter:([^\]]*)\]\]/;
const CATEGORIES = ["hate", "self_harm", "sexual", "violence"] as const;

export interface ContentFilterDirective {
  readonly refusePrompt: string | null;
  readonly filterCompletion: string | null;
  readonly annotate: boolean;
}

export function contentFilterIn(prompt: string): ContentFilterDirective | null {
  const match = DIRECTIVE.exec(prompt);
  if (!match) return null;
  let refusePrompt: string | null = null;
  let filterCompletion: string | null = null;
  let annotate = false;
  for (const item of (match[1] ?? "").split(",")) {
    const [key, value] = item.split("=").map((part) => part.trim());
    if (key === "annotate") annotate = true;
    else if (key === "prompt" && value) refusePrompt = value;
    else if (key === "completion" && value) filterCompletion = value;
  }
  return { refusePrompt, filterCompletion, annotate: annotate || filterCompletion !== null };
}

/** Azure's `content_filter_results`: every category safe, except `filtered` (filtered at high severity, or detected for shields). */
function results(filtered: string | null, shields: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const category of CATEGORIES) out[category] = category === filtered ? { filtered: true, severity: "high" } : { filtered: false, severity: "safe" };
  if (shields) {
    out.jailbreak = filtered === "jailbreak" ? { filtered: true, detected: true } : { filtered: false, detected: false };
    if (filtered === "indirect_attack") out.indirect_attack = { filtered: true, detected: true };
  }
  return out;
}

/** Azure OpenAI's 400 when its filter refuses the prompt. */
export function sendPromptFiltered(response: ServerResponse, category: string): void {
  response.writeHead(400, { "content-type": "application/json", "x-should-retry": "false" });
  response.end(
    JSON.stringify({
      error: {
        message:
          "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
        type: null,
        param: "prompt",
        code: "content_filter",
        status: 400,
        innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: results(category, true) },
      },
    }),
  );
}

type Json = Record<string, unknown> & { choices?: Record<string, unknown>[] };

function annotateAnswer(answer: Json, directive: ContentFilterDirective, streamed: boolean, state: { promptSent: boolean }): Json[] {
  const choices = (answer.choices ?? []).map((choice) => {
    const finishing = choice.finish_reason !== null && choice.finish_reason !== undefined;
    const filtered = directive.filterCompletion !== null && (finishing || !streamed);
    const next: Record<string, unknown> = { ...choice, content_filter_results: results(filtered ? directive.filterCompletion : null, false) };
    if (filtered) {
      next.finish_reason = "content_filter";
      if (!streamed) next.message = { role: "assistant", content: null, refusal: null };
    }
    return next;
  });
  const annotated: Json = { ...answer, choices };
  const promptResults = [{ prompt_index: 0, content_filter_results: results(null, true) }];
  if (!streamed) return [{ ...annotated, prompt_filter_results: promptResults }];
  if (state.promptSent || (answer.choices ?? []).length === 0) return [answer.choices === undefined ? answer : annotated];
  state.promptSent = true;
  // Azure streams the prompt's annotations first, in a chunk with no choices.
  return [{ id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: promptResults }, annotated];
}

/** Rewrites what the mock sends (a JSON answer or SSE frames) to carry Azure's filter annotations. */
export function annotateResponse(response: ServerResponse, directive: ContentFilterDirective): void {
  const write = response.write.bind(response) as (chunk: string) => boolean;
  const end = response.end.bind(response) as (chunk?: string) => ServerResponse;
  const state = { promptSent: false };
  const rewriteFrames = (text: string): string =>
    text.replace(/^data: (\{.*\})$/gm, (_, json: string) =>
      annotateAnswer(JSON.parse(json) as Json, directive, true, state)
        .map((frame) => `data: ${JSON.stringify(frame)}`)
        .join("\n\n"),
    );
  const rewrite = (text: string): string => {
    if (text.startsWith("data: ") || text.includes("\ndata: ")) return rewriteFrames(text);
    if (text.startsWith("{")) {
      const body = JSON.parse(text) as Json;
      return Array.isArray(body.choices) ? JSON.stringify(annotateAnswer(body, directive, false, state)[0]) : text;
    }
    return text;
  };
  response.write = ((chunk: unknown, ...rest: unknown[]) => (typeof chunk === "string" ? write(rewrite(chunk)) : (write as (...args: unknown[]) => boolean)(chunk, ...rest))) as ServerResponse["write"];
  response.end = ((chunk?: unknown, ...rest: unknown[]) => (typeof chunk === "string" ? end(rewrite(chunk)) : (end as (...args: unknown[]) => ServerResponse)(chunk, ...rest))) as ServerResponse["end"];
}
