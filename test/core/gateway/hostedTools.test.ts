import { describe, expect, it } from "vitest";
import { type GatewayRequest } from "../../../src/core/gateway/GatewayRequest.js";
import { createResponsesOperation } from "../../../src/core/gateway/operations/responses/responsesOperation.js";
import { jsonResponse, refusalOf } from "./gatewayHarness.js";
import { useMockUpstreamHarness } from "./mockUpstreamHarness.js";

/**
 * Outside testing (session 11): tools the model provider runs itself. An `mcp` tool makes the provider
 * send the conversation to a server the caller names; web search sends it to a search engine outside
 * the residency; file search and code interpreter return text that reaches the answer uninspected. They
 * passed through untouched. Now refused (403 tool_not_allowed) unless the project lists their type in
 * `responses.hostedTools`; tools the caller runs (function, custom) pass as before.
 */
const { mock, provider, harness } = useMockUpstreamHarness();
type Harness = Awaited<ReturnType<typeof harness>>;

const FUNCTION_TOOL = { type: "function", name: "lookup", parameters: { type: "object", properties: {} } };
const MCP_TOOL = { type: "mcp", server_label: "crm", server_url: "https://mcp.example.invalid/sse", require_approval: "never" };

const responses = (h: Harness, tools: readonly Record<string, unknown>[]): GatewayRequest => ({
  ...h.request(),
  body: { model: "gpt-4o-mini", max_output_tokens: 50, input: "Find the customer's card on file.", tools },
});
const handleResponses = (h: Harness, request: GatewayRequest) => h.pipeline.handle(createResponsesOperation(provider), request);

describe("hosted tools on the Responses API", () => {
  it.each([
    ["a remote MCP server", MCP_TOOL],
    ["web search", { type: "web_search_preview" }],
    ["file search", { type: "file_search", vector_store_ids: ["vs_1"] }],
    ["code interpreter", { type: "code_interpreter", container: { type: "auto" } }],
  ])("%s is refused with 403 tool_not_allowed naming the tool; nothing goes upstream; the refusal is audited", async (_name, tool) => {
    const h = await harness();
    const error = await refusalOf(handleResponses(h, responses(h, [FUNCTION_TOOL, tool])));
    expect([error.status, error.code, error.param]).toEqual([403, "tool_not_allowed", "tools[1].type"]);
    expect(mock().requests()).toHaveLength(0);
    expect(h.audit.events.at(-1)).toMatchObject({ type: "policy_violation", status: "blocked", reason: "tool_not_allowed" });
  });

  it("function tools pass, and a hosted tool passes where the project lists its type", async () => {
    const h = await harness();
    expect(jsonResponse(await handleResponses(h, responses(h, [FUNCTION_TOOL]))).status).toBe(200);
    const allowing = await harness({ responses: { store: "deny", hostedTools: ["mcp"], mcpServers: ["mcp.example.invalid"] } });
    expect(jsonResponse(await handleResponses(allowing, responses(allowing, [FUNCTION_TOOL, MCP_TOOL]))).status).toBe(200);
    expect(JSON.stringify(mock().requests().at(-1)?.body)).toContain("mcp.example.invalid");
  });

  it.each([
    ["a server at a host the project does not list", { ...MCP_TOOL, server_url: "https://elsewhere.example/sse" }, "tools[0].server_url"],
    ["the listed host as a user name before another host", { ...MCP_TOOL, server_url: "https://mcp.example.invalid@elsewhere.example/sse" }, "tools[0].server_url"],
    ["a connector (no URL: it runs at its vendor's)", { type: "mcp", server_label: "drive", connector_id: "connector_googledrive", authorization: "token" }, "tools[0].connector_id"],
  ])("mcp allowed, %s: 403 tool_not_allowed, nothing upstream (session 14: any server passed)", async (_name, tool, param) => {
    const allowing = await harness({ responses: { store: "deny", hostedTools: ["mcp"], mcpServers: ["mcp.example.invalid"] } });
    const error = await refusalOf(handleResponses(allowing, responses(allowing, [tool])));
    expect([error.status, error.code, error.param]).toEqual([403, "tool_not_allowed", param]);
    expect(error.message).not.toContain("elsewhere.example");
    expect(mock().requests()).toHaveLength(0);
  });
});

describe("hosted tools on Chat Completions", () => {
  it("web_search_options is refused unless the project lists web_search", async () => {
    const h = await harness();
    const error = await refusalOf(h.service.handle(h.request({ extraBody: { web_search_options: {} } })));
    expect([error.status, error.code, error.param]).toEqual([403, "tool_not_allowed", "web_search_options"]);
    expect(mock().requests()).toHaveLength(0);
    const allowing = await harness({ responses: { store: "deny", hostedTools: ["web_search"] } });
    expect(jsonResponse(await allowing.service.handle(allowing.request({ extraBody: { web_search_options: {} } }))).status).toBe(200);
  });

  it("a tool type other than function or custom in chat's tools is refused too", async () => {
    const h = await harness();
    const error = await refusalOf(h.service.handle(h.request({ extraBody: { tools: [{ type: "mcp", server_url: "https://mcp.example.invalid" }] } })));
    expect([error.status, error.code]).toEqual([403, "tool_not_allowed"]);
  });
});
