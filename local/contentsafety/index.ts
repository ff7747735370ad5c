import { randomUUID } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { directivesIn, isDocumentAttack, isUserPromptAttack, severityOf } from "./recognise.js";
import { listenOn } from "../listenOn.js";

export { directivesIn, isDocumentAttack, isUserPromptAttack } from "./recognise.js";

/** API versions the real service serves for each operation (what the SDK and docs use). */
const ANALYZE_VERSIONS = new Set(["2023-10-01", "2024-09-01"]);
const SHIELD_VERSIONS = new Set(["2024-09-01", "2024-02-15-preview"]);
const BLOCKLIST_VERSIONS = ANALYZE_VERSIONS;
const CATEGORIES = ["Hate", "Sexual", "Violence", "SelfHarm"] as const;
const MAX_TEXT = 10_000;

export interface ContentSafetyEmulatorOptions {
  readonly port?: number;
  readonly host?: string;
  /** The key callers send as `Ocp-Apim-Subscription-Key`; generated when absent. Bearer tokens are accepted unchecked. */
  readonly key?: string;
}

export interface EmulatorOutage {
  /** Answer every call with this status (an Azure-shaped error), e.g. 503 or 429. */
  readonly status?: number;
  /** Destroy the connection instead of answering. */
  readonly drop?: boolean;
  /** Wait before answering. */
  readonly latencyInMs?: number;
  /** Apply to this many calls, then clear (default: until cleared). */
  readonly times?: number;
}

export interface RunningContentSafetyEmulator {
  /** The endpoint as Azure gives it (`https://<name>.cognitiveservices.azure.com`); the SDK appends `/contentsafety`. */
  readonly endpoint: string;
  readonly port: number;
  readonly key: string;
  /** How many calls each operation got (counts only: the emulator keeps no text). */
  calls(): Readonly<Record<string, number>>;
  clearCalls(): void;
  setOutage(outage: EmulatorOutage | null): void;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalidBody = (message: string): HttpError => new HttpError(400, "InvalidRequestBody", message);

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "apim-request-id": randomUUID() });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

/** Azure AI services' error body: `{"error":{"code","message","details","innererror"}}`. */
function sendError(response: ServerResponse, error: HttpError): void {
  send(response, error.status, { error: { code: error.code, message: error.message, target: null, details: [], innererror: null } });
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1_048_576) throw invalidBody("The request body is too large.");
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch {
    throw invalidBody("The request body is not valid JSON.");
  }
}

const codePoints = (text: string): number => [...text].length;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An Azure AI Content Safety stand-in the unmodified `@azure-rest/ai-content-safety` client talks to:
 * `text:shieldPrompt`, `text:analyze` and text blocklists under `/contentsafety`, with `api-version`,
 * `Ocp-Apim-Subscription-Key` (or a bearer token), and the service's request, response and error shapes.
 * Verdicts come from fixed patterns for the documentation's classic attacks and `[[cs:...]]` directives
 * (local/contentsafety/recognise.ts): there is no model. Admin: `PUT /_emulator/outage`, `GET|DELETE /_emulator/calls`.
 */
export async function startContentSafetyEmulator(options: ContentSafetyEmulatorOptions = {}): Promise<RunningContentSafetyEmulator> {
  const key = options.key ?? randomUUID().replace(/-/g, "");
  const blocklists = new Map<string, { description: string; items: Map<string, { text: string; description: string }> }>();
  const calls: Record<string, number> = {};
  let outage: EmulatorOutage | null = null;
  let outageLeft = Number.POSITIVE_INFINITY;

  const authorize = (request: IncomingMessage): void => {
    const subscriptionKey = request.headers["ocp-apim-subscription-key"];
    const bearer = /^Bearer\s+\S+/i.test(request.headers.authorization ?? "");
    if (subscriptionKey === key || (subscriptionKey === undefined && bearer)) return;
    throw new HttpError(
      401,
      "401",
      "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    );
  };

  const version = (url: URL, allowed: ReadonlySet<string>): void => {
    const requested = url.searchParams.get("api-version");
    if (requested === null) throw new HttpError(400, "InvalidRequest", "The api-version query parameter is required.");
    if (!allowed.has(requested)) throw new HttpError(404, "404", "Resource not found");
  };

  const analyze = (body: Record<string, unknown>): unknown => {
    const { text, categories, blocklistNames, haltOnBlocklistHit, outputType } = body;
    if (typeof text !== "string" || text.length === 0) throw invalidBody("The text field is required and must be a non-empty string.");
    if (codePoints(text) > MAX_TEXT) throw invalidBody(`The text exceeds the maximum length of ${MAX_TEXT} characters.`);
    const wanted = categories === undefined ? [...CATEGORIES] : categories;
    if (!Array.isArray(wanted) || !wanted.every((category): category is string => (CATEGORIES as readonly string[]).includes(String(category)))) {
      throw invalidBody("categories must be a list of Hate, Sexual, Violence, SelfHarm.");
    }
    if (outputType !== undefined && outputType !== "FourSeverityLevels" && outputType !== "EightSeverityLevels") throw invalidBody("outputType must be FourSeverityLevels or EightSeverityLevels.");
    const names = blocklistNames === undefined ? [] : blocklistNames;
    if (!Array.isArray(names) || !names.every((name): name is string => typeof name === "string")) throw invalidBody("blocklistNames must be a list of strings.");
    const lower = text.toLowerCase();
    const blocklistsMatch: { blocklistName: string; blocklistItemId: string; blocklistItemText: string }[] = [];
    for (const name of names) {
      const list = blocklists.get(name);
      if (!list) throw new HttpError(404, "NotFound", `The blocklist ${name} was not found.`);
      for (const [id, item] of list.items) if (lower.includes(item.text.toLowerCase())) blocklistsMatch.push({ blocklistName: name, blocklistItemId: id, blocklistItemText: item.text });
    }
    if (haltOnBlocklistHit === true && blocklistsMatch.length > 0) return { blocklistsMatch, categoriesAnalysis: [] };
    const eight = outputType === "EightSeverityLevels";
    const categoriesAnalysis = wanted.map((category) => {
      const severity = severityOf(text, category);
      return { category, severity: eight ? severity : Math.floor(severity / 2) * 2 };
    });
    return { blocklistsMatch, categoriesAnalysis };
  };

  const shield = (body: Record<string, unknown>): unknown => {
    const { userPrompt, documents } = body;
    if (userPrompt !== undefined && typeof userPrompt !== "string") throw invalidBody("userPrompt must be a string.");
    if (documents !== undefined && (!Array.isArray(documents) || !documents.every((document) => typeof document === "string"))) throw invalidBody("documents must be a list of strings.");
    const docs = (documents ?? []);
    const prompt = userPrompt ?? "";
    if (prompt === "" && docs.length === 0) throw invalidBody("Either userPrompt or documents must be provided.");
    if (codePoints(prompt) > MAX_TEXT) throw invalidBody(`The userPrompt exceeds the maximum length of ${MAX_TEXT} characters.`);
    if (docs.length > 5) throw invalidBody("At most 5 documents are supported.");
    if (docs.reduce((sum, document) => sum + codePoints(document), 0) > MAX_TEXT) throw invalidBody(`The documents exceed the maximum total length of ${MAX_TEXT} characters.`);
    return { userPromptAnalysis: { attackDetected: prompt !== "" && isUserPromptAttack(prompt) }, documentsAnalysis: docs.map((document) => ({ attackDetected: isDocumentAttack(document) })) };
  };

  const blocklistRoute = async (request: IncomingMessage, response: ServerResponse, url: URL, path: string): Promise<boolean> => {
    const match = /^\/contentsafety\/text\/blocklists\/([^/:]+)(:addOrUpdateBlocklistItems|:removeBlocklistItems|\/blocklistItems)?$/.exec(path);
    if (!match) return false;
    version(url, BLOCKLIST_VERSIONS);
    const name = decodeURIComponent(match[1] ?? "");
    const action = match[2];
    if (action === undefined && request.method === "PATCH") {
      const body = await readJson(request);
      const existing = blocklists.get(name);
      const description = typeof body.description === "string" ? body.description : (existing?.description ?? "");
      blocklists.set(name, { description, items: existing?.items ?? new Map() });
      send(response, existing ? 200 : 201, { blocklistName: name, description });
      return true;
    }
    const list = blocklists.get(name);
    if (!list) throw new HttpError(404, "NotFound", `The blocklist ${name} was not found.`);
    if (action === undefined && request.method === "GET") send(response, 200, { blocklistName: name, description: list.description });
    else if (action === undefined && request.method === "DELETE") {
      blocklists.delete(name);
      send(response, 204, undefined);
    } else if (action === ":addOrUpdateBlocklistItems" && request.method === "POST") {
      const body = await readJson(request);
      if (!Array.isArray(body.blocklistItems)) throw invalidBody("blocklistItems is required.");
      const added = (body.blocklistItems as unknown[]).map((raw) => {
        const item = raw as { text?: unknown; description?: unknown };
        if (typeof item.text !== "string" || item.text === "") throw invalidBody("Each blocklist item needs a text.");
        const id = randomUUID();
        list.items.set(id, { text: item.text, description: typeof item.description === "string" ? item.description : "" });
        return { blocklistItemId: id, description: typeof item.description === "string" ? item.description : "", text: item.text };
      });
      send(response, 200, { blocklistItems: added });
    } else if (action === ":removeBlocklistItems" && request.method === "POST") {
      const body = await readJson(request);
      for (const id of Array.isArray(body.blocklistItemIds) ? (body.blocklistItemIds as unknown[]) : []) list.items.delete(String(id));
      send(response, 204, undefined);
    } else if (action === "/blocklistItems" && request.method === "GET") {
      send(response, 200, { value: [...list.items].map(([id, item]) => ({ blocklistItemId: id, description: item.description, text: item.text })) });
    } else throw new HttpError(405, "MethodNotAllowed", `${request.method ?? ""} is not supported here.`);
    return true;
  };

  const admin = async (request: IncomingMessage, response: ServerResponse, path: string): Promise<void> => {
    if (path === "/_emulator/outage" && request.method === "PUT") {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString("utf8").trim();
      setOutage(text === "" ? null : (JSON.parse(text) as EmulatorOutage));
      send(response, 204, undefined);
    } else if (path === "/_emulator/calls" && request.method === "GET") send(response, 200, calls);
    else if (path === "/_emulator/calls" && request.method === "DELETE") {
      for (const name of Object.keys(calls)) delete calls[name];
      send(response, 204, undefined);
    } else throw new HttpError(404, "404", "Resource not found");
  };

  const setOutage = (next: EmulatorOutage | null): void => {
    outage = next;
    outageLeft = next?.times ?? Number.POSITIVE_INFINITY;
  };

  const takeOutage = (): EmulatorOutage | null => {
    if (!outage) return null;
    const current = outage;
    outageLeft -= 1;
    if (outageLeft <= 0) outage = null;
    return current;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://emulator");
    const path = url.pathname;
    if (path.startsWith("/_emulator/")) return admin(request, response, path);
    authorize(request);
    const operation = path === "/contentsafety/text:shieldPrompt" ? "shieldPrompt" : path === "/contentsafety/text:analyze" ? "analyze" : path.startsWith("/contentsafety/text/blocklists") ? "blocklists" : null;
    if (operation === null) throw new HttpError(404, "404", "Resource not found");
    calls[operation] = (calls[operation] ?? 0) + 1;
    const fault = takeOutage();
    if (fault?.latencyInMs) await sleep(fault.latencyInMs);
    if (fault?.drop) {
      request.socket.destroy();
      return;
    }
    if (fault?.status) throw new HttpError(fault.status, String(fault.status), fault.status === 429 ? "Rate limit is exceeded. Try again later." : "The service is temporarily unavailable.");
    if (operation === "blocklists") {
      await blocklistRoute(request, response, url, path);
      return;
    }
    if (request.method !== "POST") throw new HttpError(405, "MethodNotAllowed", `${request.method ?? ""} is not supported here.`);
    version(url, operation === "shieldPrompt" ? SHIELD_VERSIONS : ANALYZE_VERSIONS);
    const body = await readJson(request);
    const asText = (value: unknown): string => (typeof value === "string" ? value : "");
    const texts = operation === "shieldPrompt" ? [asText(body.userPrompt), ...(Array.isArray(body.documents) ? body.documents.map(asText) : [])] : [asText(body.text)];
    const directives = texts.map(directivesIn);
    const latency = Math.max(0, ...directives.map((directive) => directive.latencyInMs));
    if (latency > 0) await sleep(latency);
    const status = directives.find((directive) => directive.status !== null)?.status ?? null;
    if (status !== null && status >= 400) throw new HttpError(status, String(status), "Injected failure.");
    send(response, 200, operation === "shieldPrompt" ? shield(body) : analyze(body));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.end();
        return;
      }
      sendError(response, error instanceof HttpError ? error : new HttpError(500, "InternalServerError", "The emulator failed."));
    });
  });
  server.keepAliveTimeout = 5_000;
  const port = await listenOn(server, options.port ?? 0, options.host ?? "127.0.0.1");
  return {
    endpoint: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    key,
    calls: () => ({ ...calls }),
    clearCalls: () => {
      for (const name of Object.keys(calls)) delete calls[name];
    },
    setOutage,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
