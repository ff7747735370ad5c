import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { tool } from "@langchain/core/tools";
import { APICallError, generateText } from "ai";
import OpenAI, { APIError, AzureOpenAI } from "openai";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { oneEndpoint } from "./hardeningPolicy.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";
import { type RecordingUpstream, startRecordingUpstream } from "./recordingUpstream.js";

/**
 * Input-side outside testing (issue 22 session 13): a card number, an API key or an e-mail put
 * anywhere an app can put text — files, schema strings, tool choices, Responses items of every type,
 * unicode disguises, a value split over two parts — must never reach the upstream: each request is
 * either refused (4xx) or reaches the upstream with the value gone. Sent through the real `openai`
 * client (OpenAI and AzureOpenAI); the assertion is on what the upstream RECEIVED, read as a model
 * would (every string, base64 and data: URLs decoded, compatibility forms folded, marks and invisible
 * characters dropped, look-alike letters mapped, the strings of the body joined).
 */

const MODEL = "gpt-4o-mini";
const CARD = "4539 1488 0343 6467";
const CARD_DIGITS = CARD.replace(/\D/g, "");
const GITHUB_TOKEN = "ghp_R8x2Kq7vLm3Tn9Wp4Zs6Yb1Hc5Jd0Fg2Ae7M";
const EMAIL = "jane.doe@contoso.com";

let upstream: RecordingUpstream;
let gateway: GatewayStack<"unused">;
let appKey: string;
let openKey: string;

function policy(): PolicyInput {
  const models = [{ name: MODEL, deployment: MODEL }];
  return {
    version: 1,
    projects: [
      { id: "acme", residency: "eu", models, maxTokens: 512, auditOnPublishFailure: "outbox", embeddings: { maxInputs: 16, tokenInput: "deny" } },
      // The explicit opt-in: data DLP cannot read goes upstream unread (and is counted on the audit event).
      { id: "open", residency: "eu", models, maxTokens: 512, auditOnPublishFailure: "outbox", uninspectableInputs: "allow" },
    ],
    serviceAccounts: [
      { id: "app", project: "acme", permissions: ["chat.completions", "responses.create", "embeddings.create"] },
      { id: "open-app", project: "open", permissions: ["chat.completions", "responses.create"] },
    ],
    endpoints: [oneEndpoint("recording", upstream.url)],
  };
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  gateway = await startGatewayStack({ upstreams: { unused: { name: "unused", region: "westeurope" } }, policy });
  [appKey, openKey] = await Promise.all([gateway.createKey("acme", "app"), gateway.createKey("open", "open-app")]);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.stop();
});

const openai = (): OpenAI => new OpenAI({ baseURL: gateway.baseUrl, apiKey: appKey, maxRetries: 0 });
const azure = (): AzureOpenAI => new AzureOpenAI({ endpoint: gateway.host.url, apiKey: appKey, deployment: MODEL, apiVersion: "2025-04-01-preview", maxRetries: 0 });

// ---- reading the upstream's body as a model would --------------------------------------------

const LOOKALIKES: Readonly<Record<string, string>> = { а: "a", е: "e", о: "o", р: "p", с: "c", х: "x", у: "y", і: "i", ј: "j", ѕ: "s", ԁ: "d", ո: "n", ɡ: "g", ℓ: "l", Ο: "O", О: "O", l: "l" };
const BASE64ISH = /^[A-Za-z0-9+/_-]{16,}={0,2}$/;

function decoded(text: string): string[] {
  const data = /^data:[^,]*?(;base64)?,(.*)$/is.exec(text);
  const payload = data ? data[2] ?? "" : BASE64ISH.test(text) ? text : null;
  if (payload === null) return [];
  if (data && data[1] === undefined) return [decodeURIComponent(payload)];
  const bytes = Buffer.from(payload, "base64");
  return [bytes.toString("utf8"), bytes.toString("latin1")];
}

function stringsOf(value: unknown, out: string[]): string[] {
  if (typeof value === "string") out.push(value, ...decoded(value));
  else if (Array.isArray(value)) for (const item of value) stringsOf(item, out);
  else if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      out.push(key);
      stringsOf(child, out);
    }
  }
  return out;
}

const fold = (text: string): string =>
  [...text.normalize("NFKD").replace(/[\p{M}\p{Cf}]/gu, "").normalize("NFKC")].map((char) => LOOKALIKES[char] ?? char).join("").toLowerCase();

/** What of the three values a model could read in `body`. */
function leaksIn(body: unknown): string[] {
  const joined = stringsOf(body, []).map(fold).join("");
  const leaks: string[] = [];
  if (joined.replace(/[^0-9]/g, "").includes(CARD_DIGITS)) leaks.push("card");
  if (joined.replace(/[^a-z0-9]/g, "").includes(GITHUB_TOKEN.toLowerCase().replace(/[^a-z0-9]/g, "").slice(4))) leaks.push("token");
  if (joined.replace(/[^a-z0-9]/g, "").includes("janedoecontosocom")) leaks.push("email");
  return leaks;
}

type Outcome = { readonly kind: "refused"; readonly status: number; readonly code: string | null } | { readonly kind: "sent"; readonly leaks: readonly string[]; readonly body: Record<string, unknown> };

async function outcomeOf(send: () => Promise<unknown>): Promise<Outcome> {
  const before = upstream.received().length;
  try {
    const result = await send();
    // A stream is read to its end, as an app does.
    if (result !== null && typeof result === "object" && Symbol.asyncIterator in result) for await (const _ of result as AsyncIterable<unknown>);
  } catch (error) {
    if (APICallError.isInstance(error) && typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500) return { kind: "refused", status: error.statusCode, code: null };
    if (error instanceof APIError && typeof error.status === "number" && error.status >= 400 && error.status < 500) return { kind: "refused", status: error.status, code: typeof error.code === "string" ? error.code : null };
    throw error;
  }
  const bodies = upstream.received().slice(before);
  expect(bodies.length, "one upstream call").toBe(1);
  const body = bodies[0] ?? {};
  return { kind: "sent", leaks: leaksIn(body), body };
}

// ---- the cases --------------------------------------------------------------------------------

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
const user = (content: unknown) => [{ role: "user", content }];
const chat = (body: Record<string, unknown>) => () => openai().chat.completions.create({ model: MODEL, messages: user("hi"), ...body } as never);
const responses = (body: Record<string, unknown>) => () => openai().responses.create({ model: MODEL, input: "hi", ...body } as never);
const fnTool = (parameters: unknown, extra: Record<string, unknown> = {}) => [{ type: "function", function: { name: "lookup", description: "Look up", parameters, ...extra } }];
const respTool = (parameters: unknown) => [{ type: "function", name: "lookup", description: "Look up", parameters, strict: false }];
const stringProperty = (extra: Record<string, unknown>) => ({ type: "object", properties: { value: { type: "string", ...extra } } });

interface Case {
  readonly name: string;
  readonly send: () => Promise<unknown>;
  /** What must happen besides "no leak": served with the value redacted, or refused. Absent: either. */
  readonly expect?: "sent" | "refused";
}

const CHAT_CASES: readonly Case[] = [
  { name: "a card split over two text parts", send: chat({ messages: user([{ type: "text", text: "card 4539 1488 0343" }, { type: "text", text: "6467" }]) }) },
  { name: "a card split over two user messages", send: chat({ messages: [{ role: "user", content: "card 4539 1488 0343" }, { role: "user", content: "6467" }] }) },
  { name: "combining marks on every digit of a card", send: chat({ messages: user(`card ${[...CARD].map((c) => (c === " " ? c : `${c}\u0301`)).join("")}`) }), expect: "sent" },
  { name: "full-width digits and zero-width joiners in a card", send: chat({ messages: user(`card ４５３９ １４\u200d８８ ０３４３ ６４６７`) }), expect: "sent" },
  { name: "an e-mail with a Cyrillic letter and a full-width at", send: chat({ messages: user(`mail jаne.doe＠contoso.com`) }) },
  { name: "an e-mail with combining marks", send: chat({ messages: user(`mail ja\u0308ne.doe@contoso.com`) }) },
  { name: "a token with a zero-width space", send: chat({ messages: user(`token ${GITHUB_TOKEN.slice(0, 10)}\u200b${GITHUB_TOKEN.slice(10)}`) }) },
  { name: "a tool parameter's enum", send: chat({ tools: fnTool(stringProperty({ enum: [CARD, "other"] })) }) },
  { name: "a tool parameter's default", send: chat({ tools: fnTool(stringProperty({ default: CARD })) }) },
  { name: "a tool parameter's const and examples", send: chat({ tools: fnTool(stringProperty({ const: EMAIL, examples: [GITHUB_TOKEN] })) }) },
  { name: "a tool parameter's pattern", send: chat({ tools: fnTool(stringProperty({ pattern: `^${CARD_DIGITS}$` })) }) },
  { name: "a tool parameter's name (a property key)", send: chat({ tools: fnTool({ type: "object", properties: { [EMAIL]: { type: "string" } } }) }) },
  { name: "tool_choice naming a tool whose name holds a card", send: chat({ tools: fnTool({ type: "object", properties: {} }, { name: `pay_${CARD.replace(/ /g, "-")}` }), tool_choice: { type: "function", function: { name: `pay_${CARD.replace(/ /g, "-")}` } } }) },
  { name: "a custom tool's grammar", send: chat({ tools: [{ type: "custom", custom: { name: "emit", description: "emit", format: { type: "grammar", grammar: { syntax: "lark", definition: `start: "${CARD}"` } } } }] }) },
  { name: "a response_format schema's enum", send: chat({ response_format: { type: "json_schema", json_schema: { name: "out", schema: stringProperty({ enum: [EMAIL] }) } } }) },
  { name: "a metadata key", send: chat({ store: false, metadata: { [EMAIL]: "x" } }) },
  { name: "an unknown message field", send: chat({ messages: [{ role: "user", content: "hi", reasoning_content: `card ${CARD}` }] }) },
  { name: "Azure On Your Data's role_information", send: chat({ data_sources: [{ type: "azure_search", parameters: { endpoint: "https://search.example", index_name: "x", role_information: `card ${CARD}`, authentication: { type: "system_assigned_managed_identity" } } }] }) },
  { name: "a file part: a CSV data URL", send: chat({ messages: user([{ type: "file", file: { filename: "cards.csv", file_data: `data:text/csv;base64,${b64(`name,card\njane,${CARD}\n`)}` } }]) }), expect: "sent" },
  { name: "a file part: JSON as bare base64", send: chat({ messages: user([{ type: "file", file: { filename: "c.json", file_data: b64(JSON.stringify({ token: GITHUB_TOKEN })) } }]) }), expect: "sent" },
  { name: "a file part: text declared as a PDF", send: chat({ messages: user([{ type: "file", file: { filename: "c.pdf", file_data: `data:application/pdf;base64,${b64(`card ${CARD}`)}` } }]) }) },
  { name: "a file part: UTF-16 text", send: chat({ messages: user([{ type: "file", file: { filename: "c.txt", file_data: `data:text/plain;base64,${Buffer.from(`\ufeffcard ${CARD}`, "utf16le").toString("base64")}` } }]) }) },
  { name: "a file part: Latin-1 text", send: chat({ messages: user([{ type: "file", file: { filename: "c.txt", file_data: `data:text/plain;base64,${Buffer.from(`Kreditkarte für Jürgen: ${CARD}`, "latin1").toString("base64")}` } }]) }) },
  { name: "a file part: a PDF with a binary line and the card in a text stream", send: chat({ messages: user([{ type: "file", file: { filename: "c.pdf", file_data: `data:application/pdf;base64,${Buffer.concat([Buffer.from("%PDF-1.4\n%"), Buffer.from([0xe2, 0xe3, 0xcf, 0xd3]), Buffer.from(`\n1 0 obj<</Length 30>>stream\nBT (card ${CARD}) Tj ET\nendstream\n`)]).toString("base64")}` } }]) }) },
  { name: "an image part: text as data:text/plain", send: chat({ messages: user([{ type: "image_url", image_url: { url: `data:text/plain;base64,${b64(CARD)}` } }]) }), expect: "refused" },
  { name: "an audio part: text as base64", send: chat({ messages: user([{ type: "input_audio", input_audio: { data: b64(`card ${CARD}`), format: "wav" } }]) }), expect: "refused" },
  { name: "a prediction's text parts", send: chat({ prediction: { type: "content", content: [{ type: "text", text: `card ${CARD}` }] } }) },
  { name: "streamed: a card split over two text parts", send: chat({ stream: true, messages: user([{ type: "text", text: "card 4539 1488 0343" }, { type: "text", text: "6467" }]) }) },
];

const RESPONSES_CASES: readonly Case[] = [
  { name: "an input_file: CSV data URL", send: responses({ input: [{ role: "user", content: [{ type: "input_file", filename: "c.csv", file_data: `data:text/csv;base64,${b64(`card\n${CARD}\n`)}` }] }] }), expect: "sent" },
  { name: "an input_file: JSON with an API key", send: responses({ input: [{ role: "user", content: [{ type: "input_file", filename: "c.json", file_data: `data:application/json;base64,${b64(JSON.stringify({ token: GITHUB_TOKEN }))}` }] }] }), expect: "sent" },
  { name: "an input_image: data:text/plain", send: responses({ input: [{ role: "user", content: [{ type: "input_image", image_url: `data:text/plain;base64,${b64(CARD)}` }] }] }), expect: "refused" },
  { name: "a card split over two input_text parts", send: responses({ input: [{ role: "user", content: [{ type: "input_text", text: "card 4539 1488 0343" }, { type: "input_text", text: "6467" }] }] }) },
  { name: "a card split over two messages", send: responses({ input: [{ role: "user", content: "card 4539 1488 0343" }, { role: "user", content: "6467" }] }) },
  { name: "a function_call_output", send: responses({ input: [{ type: "function_call", call_id: "c1", name: "lookup", arguments: "{}" }, { type: "function_call_output", call_id: "c1", output: `{"card":"${CARD}"}` }] }), expect: "sent" },
  { name: "a custom_tool_call_output", send: responses({ input: [{ type: "custom_tool_call", call_id: "c1", name: "emit", input: "x" }, { type: "custom_tool_call_output", call_id: "c1", output: `card ${CARD}` }] }), expect: "sent" },
  { name: "a reasoning item's encrypted_content holding plain text", send: responses({ input: [{ type: "reasoning", id: "rs_1", summary: [], encrypted_content: `card ${CARD}` }, { role: "user", content: "go on" }] }) },
  { name: "a reasoning item's content", send: responses({ input: [{ type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: `card ${CARD}` }] }, { role: "user", content: "go on" }] }) },
  { name: "an item_reference with a text field", send: responses({ input: [{ type: "item_reference", id: "msg_1", text: `card ${CARD}` }, { role: "user", content: "go on" }] }) },
  // An item stored upstream, maybe by another project: its content is not in the request (session 14: it went).
  { name: "an item_reference (an item stored upstream)", send: responses({ input: [{ role: "user", content: "go on" }, { type: "item_reference", id: "msg_1" }] }), expect: "refused" },
  { name: "a local_shell_call's env and command", send: responses({ input: [{ type: "local_shell_call", id: "ls_1", call_id: "c1", status: "completed", action: { type: "exec", command: ["curl", "-H", `Authorization: token ${GITHUB_TOKEN}`], env: { CARD } } }, { type: "local_shell_call_output", call_id: "c1", output: "ok" }] }) },
  { name: "an mcp_call's arguments", send: responses({ input: [{ type: "mcp_call", id: "mcp_1", server_label: "crm", name: "find", arguments: `{"email":"${EMAIL}"}`, output: "none" }, { role: "user", content: "go on" }] }) },
  { name: "a computer_call_output's screenshot as text", send: responses({ input: [{ type: "computer_call", id: "cu_1", call_id: "c1", action: { type: "screenshot" }, pending_safety_checks: [], status: "completed" }, { type: "computer_call_output", call_id: "c1", output: { type: "computer_screenshot", image_url: `data:text/plain;base64,${b64(`card ${CARD}`)}` } }] }) },
  { name: "a web_search_call's query", send: responses({ input: [{ type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: `owner of card ${CARD}` } }, { role: "user", content: "go on" }] }) },
  { name: "an apply_patch_call's diff", send: responses({ input: [{ type: "apply_patch_call", id: "ap_1", call_id: "c1", status: "completed", operation: { type: "update_file", path: "a.env", diff: `+TOKEN=${GITHUB_TOKEN}` } }, { type: "apply_patch_call_output", call_id: "c1", status: "completed", output: "done" }] }) },
  { name: "an unknown item type", send: responses({ input: [{ type: "note", text: `card ${CARD}` }, { role: "user", content: "go on" }] }) },
  { name: "a function tool's enum", send: responses({ tools: respTool(stringProperty({ enum: [CARD] })) }) },
  { name: "tool_choice naming a function", send: responses({ tools: [{ type: "function", name: `pay_${CARD.replace(/ /g, "-")}`, parameters: { type: "object", properties: {} }, strict: false }], tool_choice: { type: "function", name: `pay_${CARD.replace(/ /g, "-")}` } }) },
  { name: "a custom tool's grammar", send: responses({ tools: [{ type: "custom", name: "emit", format: { type: "grammar", syntax: "lark", definition: `start: "${CARD}"` } }] }) },
  { name: "a text.format schema's default", send: responses({ text: { format: { type: "json_schema", name: "out", schema: stringProperty({ default: EMAIL }), strict: false } } }) },
  { name: "a stored prompt (its content Palisade never sees; the project denies uninspectable inputs)", send: responses({ prompt: { id: "pmpt_1", version: "2", variables: { topic: "leave" } } }), expect: "refused" },
  { name: "instructions with a full-width card", send: responses({ instructions: "card ４５３９ １４８８ ０３４３ ６４６７" }), expect: "sent" },
];

const OTHER_CASES: readonly Case[] = [
  { name: "AzureOpenAI: a card split over two text parts", send: () => azure().chat.completions.create({ model: MODEL, messages: user([{ type: "text", text: "card 4539 1488 0343" }, { type: "text", text: "6467" }]) } as never) },
  { name: "AzureOpenAI: a tool parameter's enum", send: () => azure().chat.completions.create({ model: MODEL, messages: user("hi"), tools: fnTool(stringProperty({ enum: [CARD] })) } as never) },
  { name: "embeddings: token arrays", send: () => openai().embeddings.create({ model: MODEL, input: [[1, 2, 3]] }), expect: "refused" },
  { name: "embeddings: a card with combining marks", send: () => openai().embeddings.create({ model: MODEL, input: [`card ${[...CARD].map((c) => (c === " " ? c : `${c}\u0301`)).join("")}`] }) },
];

describe.each([
  ["chat", CHAT_CASES],
  ["responses", RESPONSES_CASES],
  ["other", OTHER_CASES],
])("%s", (_, cases) => {
  it.each(cases)("$name", async ({ send, expect: expected }) => {
    const outcome = await outcomeOf(send);
    if (outcome.kind === "sent") expect(outcome.leaks).toEqual([]);
    if (expected !== undefined) expect(outcome.kind).toBe(expected);
  });
});

describe("what must not change", () => {
  it("a value found whole in one field is redacted there only: the word before it, in the field before, is left alone", async () => {
    const outcome = await outcomeOf(chat({ messages: user("hi"), tools: fnTool(stringProperty({ enum: [EMAIL] })) }));
    expect(outcome.kind).toBe("sent");
    if (outcome.kind !== "sent") return;
    expect((outcome.body.messages as { content: string }[])[0]?.content).toBe("hi");
    expect(JSON.stringify(outcome.body)).toContain('"enum":["[EMAIL_ADDRESS_1]"]');
  });

  it("a tool list without sensitive values reaches the upstream exactly as sent", async () => {
    const tools = fnTool({ type: "object", properties: { city: { type: "string", description: "City, e.g. Paris" }, unit: { type: "string", enum: ["celsius", "fahrenheit"], default: "celsius" } }, required: ["city"] });
    const outcome = await outcomeOf(chat({ tools, tool_choice: { type: "function", function: { name: "lookup" } } }));
    expect(outcome.kind === "sent" && outcome.body.tools).toEqual(tools);
  });
});

describe("data DLP cannot read: the policy decides, and by default it is refused", () => {
  const png = `data:image/png;base64,${Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(`tEXtcard ${CARD}`)]).toString("base64")}`;
  const withImage = { messages: user([{ type: "text", text: "What is in this picture?" }, { type: "image_url", image_url: { url: png } }]) };

  it("an image (here a PNG whose text chunk holds a card) is refused by default: 422 uninspectable_content, nothing upstream", async () => {
    expect(await outcomeOf(chat(withImage))).toEqual({ kind: "refused", status: 422, code: "uninspectable_content" });
  });

  it("a project that opts in (uninspectableInputs: allow) sends it unread, as its owner chose", async () => {
    const outcome = await outcomeOf(() => new OpenAI({ baseURL: gateway.baseUrl, apiKey: openKey, maxRetries: 0 }).chat.completions.create({ model: MODEL, ...withImage } as never));
    expect(outcome.kind === "sent" && outcome.leaks).toEqual(["card"]);
  });
});

describe("URLs the provider fetches (session 14): the URL is text sent on to its host, inspected even where the project lets the fetched data go unread", () => {
  const open = (): OpenAI => new OpenAI({ baseURL: gateway.baseUrl, apiKey: openKey, maxRetries: 0 });
  const cardUrl = `https://images.example/lookup?card=${CARD_DIGITS}`;

  it.each([
    ["chat: an image_url part's https URL", () => open().chat.completions.create({ model: MODEL, messages: user([{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: cardUrl } }]) } as never)],
    ["Responses: an input_image's image_url", () => open().responses.create({ model: MODEL, input: [{ role: "user", content: [{ type: "input_image", image_url: `https://images.example/u/${EMAIL}/a.png`, detail: "auto" }] }] } as never)],
    ["Responses: an input_file's file_url", () => open().responses.create({ model: MODEL, input: [{ role: "user", content: [{ type: "input_file", file_url: `https://files.example/dl?token=${GITHUB_TOKEN}` }] }] } as never)],
  ])("%s: the value in the URL never reaches the upstream", async (_name, send) => {
    const outcome = await outcomeOf(send);
    if (outcome.kind === "sent") expect(outcome.leaks).toEqual([]);
  });

  it("a URL without sensitive values reaches the upstream exactly as sent", async () => {
    const url = "https://images.example/cat.png?size=large";
    const outcome = await outcomeOf(() => open().chat.completions.create({ model: MODEL, messages: user([{ type: "image_url", image_url: { url } }]) } as never));
    expect(outcome.kind === "sent" && (outcome.body.messages as { content: { image_url: { url: string } }[] }[])[0]?.content[0]?.image_url.url).toBe(url);
  });
});

describe("LangChain and the AI SDK, as apps use them", () => {
  it("LangChain bindTools: a zod enum holding a card (the schema goes upstream whole) is redacted", async () => {
    const pay = tool(async () => "ok", { name: "pay", description: "Pay with a stored card", schema: z.object({ card: z.enum([CARD, "other"]) }) });
    const model = new ChatOpenAI({ model: MODEL, apiKey: appKey, maxRetries: 0, configuration: { baseURL: gateway.baseUrl } }).bindTools([pay]);
    const outcome = await outcomeOf(() => model.invoke("Pay the usual way."));
    expect(outcome.kind === "sent" && outcome.leaks).toEqual([]);
  });

  it("LangChain: a card split over two content blocks of one message", async () => {
    const model = new ChatOpenAI({ model: MODEL, apiKey: appKey, maxRetries: 0, configuration: { baseURL: gateway.baseUrl } });
    const outcome = await outcomeOf(() => model.invoke([{ role: "user", content: [{ type: "text", text: "card 4539 1488 0343" }, { type: "text", text: "6467" }] }]));
    expect(outcome.kind === "sent" && outcome.leaks).toEqual([]);
  });

  it("AI SDK (Responses): a text file part holding an API key is read and redacted", async () => {
    const provider = createOpenAI({ baseURL: gateway.baseUrl, apiKey: appKey });
    const outcome = await outcomeOf(() =>
      generateText({ model: provider.responses(MODEL), maxRetries: 0, messages: [{ role: "user", content: [{ type: "text", text: "Check this config." }, { type: "file", data: Buffer.from(`TOKEN=${GITHUB_TOKEN}\n`), mediaType: "application/pdf", filename: "config.pdf" }] }] }),
    );
    expect(outcome.kind === "sent" && outcome.leaks).toEqual([]);
  });

  it("AI SDK (chat): an image part is refused by default (uninspectable)", async () => {
    const provider = createOpenAI({ baseURL: gateway.baseUrl, apiKey: appKey });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
    const outcome = await outcomeOf(() => generateText({ model: provider.chat(MODEL), maxRetries: 0, messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image", image: png, mediaType: "image/png" }] }] }));
    expect(outcome).toMatchObject({ kind: "refused", status: 422 });
  });
});
