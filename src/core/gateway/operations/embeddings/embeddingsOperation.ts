import { PalisadeError } from "../../../errors.js";
import { countTextTokens } from "../../../limits/estimatePromptTokens.js";
import { embeddingsPolicyOf } from "../../../policy/operationsPolicy.js";
import { type EmbeddingsProvider } from "../../../upstream/EmbeddingsProvider.js";
import { type ContentField, type Operation, type PlainAnswer } from "../../pipeline/Operation.js";
import { pointer, replaceAtPointers } from "../../pipeline/jsonPointer.js";
import { requestValidationError } from "../../requestValidationError.js";
import { type EmbeddingsRequest, embeddingInputsOf, embeddingsRequestSchema, tokenInputCount } from "./embeddingsRequest.js";

/**
 * `POST /v1/embeddings`. Every input text is inspected (and redacted in place); token arrays cannot be
 * read, so they are refused unless the project sets `embeddings.tokenInput: allow`, and then count as
 * uninspectable parts (refused unless the project allows uninspectable inputs too).
 * Embeddings have no output tokens and no text in the answer; a public, finding-free request is cacheable.
 */
export function createEmbeddingsOperation(provider: EmbeddingsProvider): Operation<EmbeddingsRequest> {
  return {
    name: "embeddings",
    permission: "embeddings.create",
    cacheable: true,

    parse(body) {
      const parsed = embeddingsRequestSchema.safeParse(body);
      if (!parsed.success) throw requestValidationError(parsed.error);
      return parsed.data;
    },
    model: (request) => request.model,
    endUser: (request) => request.user,
    isStreamed: () => false,

    checkBounds(request, project) {
      const settings = embeddingsPolicyOf(project);
      const inputs = embeddingInputsOf(request).length;
      if (inputs > settings.maxInputs) {
        throw new PalisadeError(400, "invalid_request_error", "invalid_request", `input has ${inputs} items; this project allows at most ${settings.maxInputs}.`, { param: "input" });
      }
      if (tokenInputCount(request) > 0 && settings.tokenInput === "deny") {
        throw new PalisadeError(
          422,
          "invalid_request_error",
          "uninspectable_content",
          "input is given as token arrays, which Palisade cannot inspect for sensitive data, and this project does not allow them. Send the text instead, or ask the project owner to set embeddings.tokenInput: allow.",
          { param: "input" },
        );
      }
    },

    // Embedded texts are content to index or compare (retrieved passages, documents), not instructions to a model: documents to content safety.
    contents(request): ContentField[] {
      if (typeof request.input === "string") return [{ path: pointer("input"), text: request.input, kind: "text", origin: "document" }];
      const fields: ContentField[] = [];
      request.input.forEach((item, index) => {
        if (typeof item === "string") fields.push({ path: pointer("input", index), text: item, kind: "text", origin: "document" });
      });
      return fields;
    },
    uninspectableParts: tokenInputCount,
    withContents: (request, replacements) => replaceAtPointers(request, replacements),

    estimateInputTokens: (request) => embeddingInputsOf(request).reduce((sum, item) => sum + (typeof item === "string" ? countTextTokens(request.model, item) : item.length), 0),
    outputCap: () => 0,
    estimateOutputTokens: () => 0,

    upstreamBody(request, governed) {
      const { user: _user, ...rest } = request;
      return governed.user === null ? rest : { ...rest, user: governed.user };
    },

    async call(endpoint, body, options): Promise<PlainAnswer> {
      const result = await provider.createEmbeddings(endpoint, body, options);
      return { body: result.body, usage: result.usage };
    },
    // Vectors carry no text to inspect.
    inspectAnswer: (answer) => answer.body,
  };
}
