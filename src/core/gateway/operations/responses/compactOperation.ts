import { countTextTokens } from "../../../limits/estimatePromptTokens.js";
import { type ResponsesInputProvider } from "../../../upstream/ResponsesInputProvider.js";
import { type Operation, type PlainAnswer } from "../../pipeline/Operation.js";
import { type ResponseHistoryTokens } from "./ResponseHistoryTokens.js";
import { inspectResponseAnswer } from "./inspectResponseOutput.js";
import { responsesInputGovernance } from "./responsesInputGovernance.js";
import { type ResponsesInputRequest } from "./responsesInputRequest.js";
import { type StoredResponseOwners } from "./StoredResponseOwners.js";

/**
 * `POST /v1/responses/compact` (`client.responses.compact`): the model compacts a long conversation
 * into output items (the user's messages, then one `compaction` item whose `encrypted_content` is the
 * provider's ciphertext). Governed like a create: the input inspected as a create's
 * (responsesInputGovernance.ts), tokens reserved and settled on the compaction's `usage`, and the
 * output inspected as a Response's output (inspectResponseOutput.ts: `encrypted_content` is not text
 * and passes untouched). The API takes no output cap, so none is sent: the reservation is the
 * project's default cap, and the settlement counts what the upstream reports. Not streamed, not cached.
 */
export function createCompactOperation(provider: ResponsesInputProvider, owners: StoredResponseOwners, history: ResponseHistoryTokens): Operation<ResponsesInputRequest> {
  return {
    ...responsesInputGovernance(owners, history),
    name: "responses.compact",

    outputCap: (_request, project) => Math.min(project.defaultMaxTokens ?? project.maxTokens, project.maxTokens),
    estimateOutputTokens: (request, texts) => countTextTokens(request.model, texts.join("")),

    async call(endpoint, body, options): Promise<PlainAnswer> {
      const result = await provider.compactResponse(endpoint, body, options);
      return { body: result.body, usage: result.usage };
    },
    inspectAnswer: (answer, scanner) => inspectResponseAnswer(answer.body, scanner),
  };
}
