import { type ResponsesInputProvider } from "../../../upstream/ResponsesInputProvider.js";
import { type Operation, type PlainAnswer } from "../../pipeline/Operation.js";
import { type ResponseHistoryTokens } from "./ResponseHistoryTokens.js";
import { responsesInputGovernance } from "./responsesInputGovernance.js";
import { type ResponsesInputRequest } from "./responsesInputRequest.js";
import { type StoredResponseOwners } from "./StoredResponseOwners.js";

/** A count makes nothing: no tokens are generated or billed, whatever the upstream's answer says. */
const NO_TOKENS = { promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0 } as const;

/**
 * `POST /v1/responses/input_tokens` (`client.responses.inputTokens.count`): the upstream counts what
 * a request would send the model. It still receives the whole input, so the input is governed as a
 * create's (responsesInputGovernance.ts); its answer, `{object: "response.input_tokens",
 * input_tokens}`, holds no text and passes through. For limits it is one request against RPM and no
 * tokens (none reserved, none settled: docs/limits.md).
 */
export function createInputTokensOperation(provider: ResponsesInputProvider, owners: StoredResponseOwners, history: ResponseHistoryTokens): Operation<ResponsesInputRequest> {
  return {
    ...responsesInputGovernance(owners, history),
    name: "responses.input_tokens",

    estimateInputTokens: () => 0,
    outputCap: () => 0,
    estimateOutputTokens: () => 0,

    async call(endpoint, body, options): Promise<PlainAnswer> {
      const result = await provider.countInputTokens(endpoint, body, options);
      return { body: result.body, usage: NO_TOKENS };
    },
    // A number, no text.
    inspectAnswer: (answer) => answer.body,
  };
}
