import { PalisadeError } from "../../../errors.js";
import { countTextTokens, estimatePromptTokens } from "../../../limits/estimatePromptTokens.js";
import { type ProjectPolicy } from "../../../policy/schema.js";
import { type CompletionProvider } from "../../../upstream/CompletionProvider.js";
import { type Operation, type PlainAnswer } from "../../pipeline/Operation.js";
import { replaceAtPointers } from "../../pipeline/jsonPointer.js";
import { estimateUpstreamTokens } from "../../pipeline/estimateUpstreamTokens.js";
import { requestValidationError } from "../../requestValidationError.js";
import { mayStoreResponse } from "../responses/responseStorage.js";
import { checkChatWebSearch, checkHostedTools } from "../responses/hostedTools.js";
import { ChatStreamSession } from "./ChatStreamSession.js";
import { ANSWER_FIELDS_WITH_RULES, inspectFieldsWithoutRules } from "./fieldsWithoutRules.js";
import { type Choice, inspectChoice } from "./inspectChoice.js";
import { chatContents, checkChatMediaParts, uninspectableChatParts } from "./chatContents.js";
import { type ChatCompletionRequest, chatCompletionRequestSchema, requestedMaxTokens } from "./chatRequest.js";
import { vouchForChatRequest } from "./vouchForChatRequest.js";
import { checkDataSources } from "./dataSources.js";

/**
 * Reasoning models (o-series, gpt-5) take only `max_completion_tokens`; the others are sent
 * `max_tokens`, which every Azure OpenAI API version accepts.
 */
export function outputCapField(model: string): "max_tokens" | "max_completion_tokens" {
  return /^(o\d|gpt-5)/i.test(model) ? "max_completion_tokens" : "max_tokens";
}

/** `POST /v1/chat/completions`, plain and streamed. */
export function createChatOperation(provider: CompletionProvider): Operation<ChatCompletionRequest> {
  return {
    name: "chat.completions",
    permission: "chat.completions",
    cacheable: true,

    parse(body) {
      const vouched = vouchForChatRequest(body);
      if (vouched !== null) return vouched;
      const parsed = chatCompletionRequestSchema.safeParse(body);
      if (!parsed.success) throw requestValidationError(parsed.error);
      return parsed.data;
    },
    model: (request) => request.model,
    endUser: (request) => request.user,
    isStreamed: (request) => request.stream === true,

    checkBounds(request, project) {
      if (request.messages.length > project.maxMessages) {
        throw new PalisadeError(400, "invalid_request_error", "invalid_request", `messages has ${request.messages.length} entries; this project allows at most ${project.maxMessages}.`, { param: "messages" });
      }
      const maxTokens = requestedMaxTokens(request);
      if (maxTokens !== null && maxTokens > project.maxTokens) {
        const param = request.max_tokens === maxTokens ? "max_tokens" : "max_completion_tokens";
        throw new PalisadeError(400, "invalid_request_error", "invalid_request", `${param} is ${maxTokens}; this project allows at most ${project.maxTokens}.`, { param });
      }
      checkChatMediaParts(request);
      checkHostedTools(request.tools, project);
      checkChatWebSearch((request as { readonly web_search_options?: unknown }).web_search_options, project);
      checkDataSources(request, project);
      if (project.dlp.output !== "allow" && asksForAudio(request)) {
        throw new PalisadeError(
          422,
          "invalid_request_error",
          "uninspectable_content",
          `An audio answer cannot be inspected for sensitive data, and this project's output DLP is "${project.dlp.output}". Ask for text (modalities: ["text"], no audio), or ask the project owner to set dlp.output: allow.`,
          { param: "modalities" },
        );
      }
      // Stored completions keep the conversation upstream, as a stored Response does: the same rule (responses.store).
      if (storeAsked(request)) mayStoreResponse({ store: true }, project, undefined);
    },

    contents: chatContents,
    uninspectableParts: uninspectableChatParts,
    withContents: (request, replacements) => replaceAtPointers(request, replacements),

    estimateInputTokens: (request, contents) =>
      estimateUpstreamTokens({
        model: request.model,
        contents: contents ?? chatContents(request),
        definitions: { "/tools": request.tools, "/functions": request.functions, "/response_format": request.response_format },
        nonTextParts: uninspectableChatParts(request),
        framing: chatFraming(request),
      }),
    outputCap: (request, project: ProjectPolicy) => requestedMaxTokens(request) ?? Math.min(project.defaultMaxTokens ?? project.maxTokens, project.maxTokens),
    // The cap holds per choice: `n` choices may write n times as much.
    answersPerRequest: (request) => request.n ?? 1,
    estimateOutputTokens: (request, texts) => (texts.length === 0 ? 0 : estimatePromptTokens(request.model, [{ role: "assistant", content: texts.join("") }])),

    upstreamBody(request, governed) {
      // `stream_options` is the provider's (it always asks for usage); `user` is replaced by its pseudonym.
      const { user: _user, stream_options: _streamOptions, ...rest } = request;
      const body: Record<string, unknown> = rest;
      if (requestedMaxTokens(request) === null) {
        // The caller set no cap: the upstream is capped at what was reserved, so it cannot overrun the budget.
        delete body.max_tokens;
        delete body.max_completion_tokens;
        body[outputCapField(request.model)] = governed.outputCap;
      }
      if (governed.user !== null) body.user = governed.user;
      // The class is known now: pii and phi are never stored upstream (refused, as for the Responses API).
      if (storeAsked(request) && (!governed.project || !mayStoreResponse({ store: true }, governed.project, governed.dataClass))) body.store = false;
      return body;
    },

    async call(endpoint, body, options): Promise<PlainAnswer> {
      const completion = await provider.complete(endpoint, body, options);
      return { body: completion.body, usage: completion.usage };
    },

    inspectAnswer(answer, scanner) {
      if (scanner.action === "allow") return answer.body;
      const choices = Array.isArray(answer.body.choices) ? (answer.body.choices as Choice[]) : [];
      const out: Record<string, unknown> = { ...answer.body, choices: choices.map((choice) => inspectChoice(choice, scanner)) };
      // A provider's fields beside the choices (Perplexity's `citations`, `search_results`) reach the caller too.
      inspectFieldsWithoutRules(answer.body, ANSWER_FIELDS_WITH_RULES, out, (text) => scanner.text(text));
      return out;
    },

    streaming: {
      open: (endpoint, body, options) => provider.stream(endpoint, body, options),
      // Palisade always asks the upstream for usage (to settle limits); the caller gets it only if it asked.
      session: (request, scanner) => new ChatStreamSession(scanner, request.stream_options?.include_usage === true),
    },
  };
}

/** `modalities` naming audio, or an `audio` output format: the answer would be speech. */
function asksForAudio(request: ChatCompletionRequest): boolean {
  const { modalities, audio } = request as { readonly modalities?: unknown; readonly audio?: unknown };
  return (Array.isArray(modalities) && modalities.includes("audio")) || (audio !== undefined && audio !== null);
}

/**
 * The cookbook's framing (`num_tokens_from_messages`): 3 tokens per message and its role, 1 more for a
 * name, 3 to prime the reply; the texts themselves are the content fields.
 */
function chatFraming(request: ChatCompletionRequest): number {
  let framing = 3;
  for (const message of request.messages) framing += 3 + countTextTokens(request.model, message.role) + (message.name !== undefined && message.name !== "" ? 1 : 0);
  return framing;
}

const storeAsked = (request: ChatCompletionRequest): boolean => (request as { readonly store?: unknown }).store === true;
