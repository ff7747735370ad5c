import { PalisadeError } from "../../../errors.js";
import { isRecord } from "../../../isRecord.js";
import { type ProjectPolicy } from "../../../policy/schema.js";
import { responsesPolicyOf } from "../../../policy/operationsPolicy.js";
import { hostsOf } from "../../../network/hostsOf.js";

/**
 * Tools the caller runs: the model only asks for them, and their calls and results pass through
 * Palisade (inspected both ways). Every other tool type is run by the model provider itself (web
 * search, file search, code interpreter, a remote MCP server, image generation): it sends the
 * conversation to a service Palisade does not govern (an MCP server anywhere, a search engine outside
 * the residency), and what it returns reaches the model, and the answer, uninspected.
 */
const CALLER_RUN_TOOLS = new Set(["function", "custom", "local_shell", "shell", "apply_patch", "computer_use_preview", "computer_use"]);

const NAMEABLE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Refuses (403 tool_not_allowed) a hosted tool the project does not list in `responses.hostedTools`,
 * and an allowed `mcp` tool whose server is not at a host listed in `responses.mcpServers`.
 */
export function checkHostedTools(tools: unknown, project: ProjectPolicy, param = "tools"): void {
  if (!Array.isArray(tools)) return;
  const policy = responsesPolicyOf(project);
  tools.forEach((tool: unknown, index) => {
    const type = isRecord(tool) ? tool.type : undefined;
    if (typeof type !== "string" || CALLER_RUN_TOOLS.has(type)) return;
    if (!policy.hostedTools.includes(type)) throw hostedToolRefused(type, `${param}[${index}].type`);
    if (type === "mcp" && isRecord(tool)) checkMcpServer(tool, policy.mcpServers ?? [], `${param}[${index}]`);
  });
}

/** An MCP server gets the conversation wherever it is: its host must be one the project listed. A connector (no URL) runs at its vendor's: refused. */
function checkMcpServer(tool: Readonly<Record<string, unknown>>, listed: readonly string[], at: string): void {
  const url = tool.server_url;
  const hosts = typeof url === "string" ? hostsOf(url) : null;
  if (hosts !== null && hosts.every((host) => listed.includes(host))) return;
  throw new PalisadeError(
    403,
    "permission_error",
    "tool_not_allowed",
    "This MCP server is not at a host the project lists in responses.mcpServers: the provider would send it the conversation. Use a server the project lists, or ask the project owner to add its host (connectors, named by connector_id, are not allowed).",
    { param: typeof url === "string" ? `${at}.server_url` : `${at}.connector_id` },
  );
}

/** Chat's `web_search_options` (search models): the provider searches the web with the conversation. */
export function checkChatWebSearch(webSearchOptions: unknown, project: ProjectPolicy): void {
  if (webSearchOptions === undefined || webSearchOptions === null) return;
  if (!responsesPolicyOf(project).hostedTools.includes("web_search")) throw hostedToolRefused("web_search", "web_search_options");
}

function hostedToolRefused(type: string, param: string): PalisadeError {
  const named = NAMEABLE.test(type) ? `"${type}"` : "of this type";
  return new PalisadeError(
    403,
    "permission_error",
    "tool_not_allowed",
    `The tool ${named} is run by the model provider: it sends the conversation to a service Palisade does not govern, and its results are not inspected. This project does not allow it. Use function tools (run by your app), or ask the project owner to add it to responses.hostedTools.`,
    { param },
  );
}
