import { randomBytes } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { listenOn } from "../listenOn.js";

/**
 * A small stand-in for Azure Resource Manager's Cognitive Services account key operations, plus the
 * account's data plane for verification:
 *   POST {armPath}/listKeys?api-version=2023-05-01                  -> { key1, key2 }
 *   POST {armPath}/regenerateKey?api-version=2023-05-01 {keyName}    -> { key1, key2 }
 *   GET  {armPath}?api-version=2023-05-01                            -> the account, properties.endpoint
 *   POST /accounts/{name}/openai/deployments/{d}/chat/completions    -> 200 with `api-key` = key1|key2, else 401
 * where armPath = /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}.
 * ARM routes want a bearer token (any non-empty one), as the real service does.
 */
export interface MockArmOptions {
  readonly port?: number;
  readonly host?: string;
}

export interface MockArmAccount {
  readonly resourceId: string;
  readonly endpoint: string;
  readonly deployments: readonly string[];
}

export interface RunningMockArm {
  readonly url: string;
  /** Adds an account with fresh keys and returns its resource id and data-plane endpoint. */
  addAccount(input: { subscription: string; resourceGroup: string; name: string; deployments?: readonly string[] }): MockArmAccount;
  /** The account's keys now (tests only; real ARM hands them out through listKeys). */
  keysOf(resourceId: string): { key1: string; key2: string } | null;
  /** Calls seen, by kind. */
  readonly calls: { regenerate: string[]; listKeys: number; chat: number; unauthorized: number };
  stop(): Promise<void>;
}

export const ARM_API_VERSION = "2023-05-01";

interface Account {
  resourceId: string;
  name: string;
  key1: string;
  key2: string;
  deployments: Set<string>;
}

const ARM_PATH = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.CognitiveServices\/accounts\/([^/]+)(\/listKeys|\/regenerateKey)?$/i;
const CHAT_PATH = /^\/accounts\/([^/]+)\/openai\/deployments\/([^/]+)\/chat\/completions$/;

const newKey = (): string => randomBytes(16).toString("hex");

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const armError = (response: ServerResponse, status: number, code: string, message: string): void => send(response, status, { error: { code, message } });

export async function startMockArm(options: MockArmOptions = {}): Promise<RunningMockArm> {
  const host = options.host ?? "127.0.0.1";
  const accounts = new Map<string, Account>();
  const calls = { regenerate: [] as string[], listKeys: 0, chat: 0, unauthorized: 0 };
  let url = "";

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const parsed = new URL(request.url ?? "/", "http://mock");
    const chat = CHAT_PATH.exec(parsed.pathname);
    if (chat !== null && request.method === "POST") {
      await readBody(request);
      calls.chat += 1;
      const account = [...accounts.values()].find((candidate) => candidate.name === chat[1]);
      if (account === undefined) return armError(response, 404, "NotFound", "no such account");
      const key = request.headers["api-key"];
      if (typeof key !== "string" || (key !== account.key1 && key !== account.key2)) {
        calls.unauthorized += 1;
        return send(response, 401, { error: { code: "401", message: "Access denied due to invalid subscription key or wrong API endpoint." } });
      }
      if (!account.deployments.has(chat[2] ?? "")) return armError(response, 404, "DeploymentNotFound", "The API deployment for this resource does not exist.");
      return send(response, 200, {
        id: `chatcmpl-${randomBytes(6).toString("hex")}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: chat[2],
        choices: [{ index: 0, finish_reason: "length", message: { role: "assistant", content: "ok" } }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    }

    const arm = ARM_PATH.exec(parsed.pathname);
    if (arm === null) return armError(response, 404, "NotFound", `No route for ${request.method ?? "?"} ${parsed.pathname}`);
    if (!/^Bearer\s+\S+/i.test(request.headers.authorization ?? "")) {
      calls.unauthorized += 1;
      return armError(response, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
    }
    if (parsed.searchParams.get("api-version") !== ARM_API_VERSION) {
      return armError(response, 400, "InvalidApiVersionParameter", `The api-version '${parsed.searchParams.get("api-version") ?? ""}' is invalid.`);
    }
    const resourceId = `/subscriptions/${arm[1]}/resourceGroups/${arm[2]}/providers/Microsoft.CognitiveServices/accounts/${arm[3]}`.toLowerCase();
    const account = accounts.get(resourceId);
    if (account === undefined) return armError(response, 404, "ResourceNotFound", `The Resource '${arm[3] ?? ""}' was not found.`);
    const operation = arm[4]?.toLowerCase();
    const body = await readBody(request);
    if (operation === undefined && request.method === "GET") {
      return send(response, 200, { id: account.resourceId, name: account.name, kind: "OpenAI", properties: { endpoint: `${url}/accounts/${account.name}/`, provisioningState: "Succeeded" } });
    }
    if (request.method !== "POST") return armError(response, 405, "MethodNotAllowed", "method not allowed");
    if (operation === "/listkeys") {
      calls.listKeys += 1;
      return send(response, 200, { key1: account.key1, key2: account.key2 });
    }
    if (operation === "/regeneratekey") {
      let keyName: unknown;
      try {
        keyName = (JSON.parse(body) as { keyName?: unknown }).keyName;
      } catch {
        keyName = undefined;
      }
      if (keyName !== "Key1" && keyName !== "Key2") return armError(response, 400, "InvalidRequestContent", "keyName must be Key1 or Key2.");
      calls.regenerate.push(keyName);
      if (keyName === "Key1") account.key1 = newKey();
      else account.key2 = newKey();
      return send(response, 200, { key1: account.key1, key2: account.key2 });
    }
    return armError(response, 404, "NotFound", "unknown operation");
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) armError(response, 500, "InternalServerError", "mock failure");
      else response.end();
    });
  });
  const port = await listenOn(server, options.port ?? 0, host);
  url = `http://${host}:${port}`;

  return {
    url,
    calls,
    addAccount(input) {
      const resourceId = `/subscriptions/${input.subscription}/resourceGroups/${input.resourceGroup}/providers/Microsoft.CognitiveServices/accounts/${input.name}`;
      accounts.set(resourceId.toLowerCase(), { resourceId, name: input.name, key1: newKey(), key2: newKey(), deployments: new Set(input.deployments ?? ["gpt-4o"]) });
      return { resourceId, endpoint: `${url}/accounts/${input.name}/`, deployments: input.deployments ?? ["gpt-4o"] };
    },
    keysOf(resourceId) {
      const account = accounts.get(resourceId.toLowerCase());
      return account === undefined ? null : { key1: account.key1, key2: account.key2 };
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
