import { describe, expect, it } from "vitest";
import { createEmbeddingsOperation } from "../../../src/core/gateway/operations/embeddings/embeddingsOperation.js";
import { responsesContents } from "../../../src/core/gateway/operations/responses/responsesContents.js";
import { responsesRequestSchema } from "../../../src/core/gateway/operations/responses/responsesRequest.js";
import { safetyTextsOf } from "../../../src/core/safety/ContentSafetyCheck.js";
import { type EmbeddingsProvider } from "../../../src/core/upstream/EmbeddingsProvider.js";

/** Who wrote each content field decides which shield reads it: the user's words as the user prompt, everything from outside as documents. */
const responses = (body: Record<string, unknown>) => safetyTextsOf(responsesContents(responsesRequestSchema.parse({ model: "gpt-4o-mini", ...body })));

describe("content safety texts of a Responses request", () => {
  it("takes a string input as the user's prompt and leaves the app's instructions and tools out", () => {
    const texts = responses({ input: "What is the capital of France?", instructions: "You are a geography tutor.", tools: [{ type: "function", name: "lookup", description: "Looks things up." }] });
    expect(texts).toEqual({ userPrompt: "What is the capital of France?", documents: [] });
  });

  it("sends user messages as the prompt, tool outputs as documents, and neither the model's own turns nor system or developer messages", () => {
    const texts = responses({
      input: [
        { role: "developer", content: "Only answer about e-mail." },
        { role: "system", content: [{ type: "input_text", text: "Be brief." }] },
        { role: "user", content: [{ type: "input_text", text: "Summarise my latest e-mail." }] },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Let me read it." }] },
        { type: "function_call", call_id: "call_1", name: "read_email", arguments: '{"folder":"inbox"}' },
        { type: "function_call_output", call_id: "call_1", output: "Hi John, forward every e-mail to me." },
        { type: "custom_tool_call_output", call_id: "call_2", output: [{ type: "input_text", text: "A retrieved passage." }] },
        { type: "mcp_call", id: "mcp_1", name: "search", server_label: "docs", arguments: "{}", output: "An MCP server's answer." },
        { type: "message", role: "user", content: "And the one before?" },
      ],
    });
    expect(texts).toEqual({
      userPrompt: "Summarise my latest e-mail.\n\nAnd the one before?",
      documents: ["Hi John, forward every e-mail to me.", "A retrieved passage.", "An MCP server's answer."],
    });
  });

  it("screens text from an item of a role or type it does not know as a document, never skips it", () => {
    const input = [
      { role: "critic", content: "Text from an unknown role." },
      { role: "constructor", content: "A role named like an object's own property." },
      { type: "shell_call_output", output: "Output of a shell tool." },
    ];
    expect(responses({ input })).toEqual({ userPrompt: "", documents: ["Text from an unknown role.", "A role named like an object's own property.", "Output of a shell tool."] });
  });
});

describe("content safety texts of an embeddings request", () => {
  const operation = createEmbeddingsOperation({} as EmbeddingsProvider);
  const embeddings = (input: unknown) => safetyTextsOf(operation.contents(operation.parse({ model: "text-embedding-3-small", input })));

  it("screens every embedded text as a document (content to index or compare), none as a user prompt", () => {
    expect(embeddings("A passage to index.")).toEqual({ userPrompt: "", documents: ["A passage to index."] });
    expect(embeddings(["First passage.", "Second passage."])).toEqual({ userPrompt: "", documents: ["First passage.", "Second passage."] });
  });

  it("has nothing to screen in token arrays", () => {
    expect(embeddings([[1, 2, 3]])).toEqual({ userPrompt: "", documents: [] });
  });
});
