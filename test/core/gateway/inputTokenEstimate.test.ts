import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it, vi } from "vitest";
import { type GatewayRequest } from "../../../src/core/gateway/GatewayRequest.js";
import { type Operation } from "../../../src/core/gateway/pipeline/Operation.js";
import { createEmbeddingsOperation } from "../../../src/core/gateway/operations/embeddings/embeddingsOperation.js";
import { createResponsesOperation } from "../../../src/core/gateway/operations/responses/responsesOperation.js";
import { InMemoryStoredResponseOwners } from "../../../src/core/gateway/operations/responses/StoredResponseOwners.js";
import { type Completion, type CompletionCallOptions, type CompletionUsage } from "../../../src/core/upstream/CompletionProvider.js";
import { type EmbeddingsResult } from "../../../src/core/upstream/EmbeddingsProvider.js";
import { type ResponseResult } from "../../../src/core/upstream/ResponsesProvider.js";
import { type EndpointPolicy } from "../../../src/core/policy/schema.js";
import { DEFAULT_USAGE, FakeCompletionProvider } from "../../fakes/FakeCompletionProvider.js";
import { collect, gatewayHarness, jsonResponse } from "./gatewayHarness.js";

/**
 * The TPM reservation made before the upstream call must cover every text the request sends the
 * model: a burst admitted together is settled only afterwards, so a reservation below the real input
 * lets the burst through past `tokensPerMinute` (outside testing, session 11: tool definitions,
 * tool-call arguments in chat history and inline file text were not counted).
 */

/** The upstream holds every call until `open()`: the whole burst is admitted (or refused) before any settles. */
class GatedProvider extends FakeCompletionProvider {
  #open: () => void = () => undefined;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));
  waiting = 0;
  /** Calls pass at once while true (a turn served before the burst). */
  passing = false;

  open(): void {
    this.#open();
  }

  override async complete(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<Completion> {
    await this.held();
    return super.complete(endpoint, body, options);
  }

  override async createResponse(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<ResponseResult> {
    await this.held();
    return super.createResponse(endpoint, body, options);
  }

  override async createEmbeddings(endpoint: EndpointPolicy, body: Readonly<Record<string, unknown>>, options: CompletionCallOptions): Promise<EmbeddingsResult> {
    await this.held();
    return super.createEmbeddings(endpoint, body, options);
  }

  private async held(): Promise<void> {
    if (this.passing) return;
    this.waiting += 1;
    await this.#gate;
  }
}

const LIMIT = 3_000;
const BURST = 8;
const tokens = (text: string): number => encode(text).length;
const sum = (texts: readonly string[]): number => texts.reduce((total, text) => total + tokens(text), 0);

type Kind = "chat" | "responses" | "embeddings";

/** Before the burst, in the minute before it: a turn served (a Response to continue), with what the upstream answered. */
interface Before {
  readonly body: Record<string, unknown>;
  readonly usage: CompletionUsage;
  /** The burst's body, given the id of the Response served before. */
  readonly then: (responseId: string) => Record<string, unknown>;
  /** What the upstream answers each of the burst (default: DEFAULT_USAGE). */
  readonly burstUsage?: CompletionUsage;
  /** A stored Response of this project that another instance served (its owner recorded, its tokens unknown here). */
  readonly servedElsewhere?: string;
}

/** Sends BURST copies of `body` at once against a tokensPerMinute limit; how many the gateway admitted. */
async function burst(kind: Kind, body: Record<string, unknown>): Promise<number> {
  return (await burstAfter(kind, { body, usage: DEFAULT_USAGE, then: () => body }, false)).admitted;
}

async function burstAfter(kind: Kind, before: Before, serveBefore = true): Promise<{ admitted: number; handle: (body: Record<string, unknown>) => Promise<unknown> }> {
  const provider = new GatedProvider();
  const h = await gatewayHarness({
    project: { limits: { tokensPerMinute: LIMIT }, cache: undefined, embeddings: { tokenInput: "allow" }, uninspectableInputs: "allow", responses: { store: "allow", hostedTools: [] } },
    cache: false,
    upstream: provider,
    policy: {
      serviceAccounts: [
        { id: "app", project: "acme", permissions: ["chat.completions", "responses.create", "embeddings.create"], ipAllowlist: ["10.0.0.0/8"] },
        { id: "lister", project: "acme", permissions: ["models.list"] },
        { id: "tokyo-app", project: "tokyo", permissions: ["chat.completions"] },
      ],
      endpoints: [{ id: "eu-west-std", provider: "azure", baseUrl: "https://eu-west-std.example.invalid", region: "westeurope", residency: "eu", class: "standard", deployments: ["mini"], operations: ["chat", "responses", "embeddings"], priority: 1, auth: { kind: "none" }, timeoutInMs: 5_000 }],
    },
  });
  // One operation for the whole test: what it learnt from the turn before is what the burst is estimated with.
  const owners = new InMemoryStoredResponseOwners();
  if (before.servedElsewhere !== undefined) await owners.record(before.servedElsewhere, { projectId: "acme" });
  const operation: Operation<unknown> | null = kind === "responses" ? createResponsesOperation(provider, owners) : kind === "embeddings" ? createEmbeddingsOperation(provider) : null;
  const handle = (request: GatewayRequest) => (operation === null ? h.service.handle(request) : h.pipeline.handle(operation, request));
  let responseId = "";
  if (serveBefore) {
    provider.passing = true;
    provider.next(before.body.stream === true ? FakeCompletionProvider.stream(["Noted."], { usage: before.usage }) : FakeCompletionProvider.answer("Noted.", before.usage));
    const served = await handle({ ...h.request(), body: before.body });
    if (served.kind === "stream") responseId = /"id":"(resp_[^"]+)"/.exec((await collect(served.events)).join(""))?.[1] ?? "";
    else responseId = String(jsonResponse(served).body.id);
    provider.passing = false;
    // The burst comes in the next minute: the turn before is settled in its own window.
    h.clock.advance(60_000);
  }
  const body = before.then(responseId);
  if (before.burstUsage) provider.defaultUsage = before.burstUsage;
  let refused = 0;
  const outcomes = Array.from({ length: BURST }, () =>
    handle({ ...h.request(), body }).then(
      () => "served",
      (error: unknown) => {
        refused += 1;
        return (error as { code?: string }).code ?? String(error);
      },
    ),
  );
  await vi.waitFor(() => expect(provider.waiting + refused).toBe(BURST));
  provider.open();
  const settled = await Promise.all(outcomes);
  expect(settled.filter((outcome) => outcome !== "served" && outcome !== "rate_limit_exceeded")).toEqual([]);
  provider.passing = true;
  return { admitted: provider.waiting, handle: (next) => handle({ ...h.request(), body: next }) };
}

const OUTPUT_CAP = 10;
const prose = (topic: string, words: number): string => Array.from({ length: words }, (_, index) => `${topic}${index % 7 === 0 ? "." : ""} detail ${index}`).join(" ");

const weatherSchema = (properties: number) => ({
  type: "object",
  properties: Object.fromEntries(
    Array.from({ length: properties }, (_, index) => [`customer_account_field_${index}`, { type: "string", enum: [`first_choice_${index}`, `second_choice_${index}`, `third_choice_${index}`] }]),
  ),
  required: ["customer_account_field_0"],
});
/** The words of a schema the model reads whatever its rendering: property names and enum values. */
const schemaWords = (properties: number): string[] =>
  Array.from({ length: properties }, (_, index) => [`customer_account_field_${index}`, `first_choice_${index}`, `second_choice_${index}`, `third_choice_${index}`]).flat();

describe("the input-token estimate counts everything sent upstream (a burst stays within tokensPerMinute)", () => {
  it("chat: tool definitions, tool-call arguments in history and inline file text", async () => {
    const description = prose("Looks up the account", 60);
    const args = JSON.stringify({ note: prose("The customer asked about the invoice", 80) });
    const fileText = prose("Contract clause", 80);
    const body = {
      model: "gpt-4o-mini",
      max_tokens: OUTPUT_CAP,
      tools: [{ type: "function", function: { name: "lookup_account", description, parameters: weatherSchema(10) } }],
      messages: [
        { role: "user", content: [{ type: "text", text: "hello" }, { type: "file", file: { filename: "contract.txt", file_data: `data:text/plain;base64,${Buffer.from(fileText).toString("base64")}` } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup_account", arguments: args } }] },
        { role: "tool", tool_call_id: "call_1", content: "ok" },
      ],
    };
    const readByTheModel = sum([description, args, fileText, ...schemaWords(10)]) + OUTPUT_CAP;
    const admitted = await burst("chat", body);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted * readByTheModel).toBeLessThanOrEqual(LIMIT);
  });

  it("chat: n choices are each written up to max_tokens (the reservation is the cap times n)", async () => {
    const choices = 8;
    const cap = 100;
    // Each choice writes its whole cap, and the upstream bills them all.
    const usage: CompletionUsage = { promptTokens: 10, cachedPromptTokens: 0, completionTokens: choices * cap };
    const body = { model: "gpt-4o-mini", max_tokens: cap, n: choices, messages: [{ role: "user", content: "Name a colour." }] };
    const { admitted } = await burstAfter("chat", { body, usage, then: () => body, burstUsage: usage }, false);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted * choices * cap).toBeLessThanOrEqual(LIMIT);
  });

  it("chat: max_tokens and max_completion_tokens both sent reserve the larger (an upstream may honour either), and the larger is what the project's maxTokens bounds", async () => {
    const cap = 1_000;
    const body = { model: "gpt-4o-mini", max_completion_tokens: OUTPUT_CAP, max_tokens: cap, messages: [{ role: "user", content: "Name a colour." }] };
    const usage: CompletionUsage = { promptTokens: 10, cachedPromptTokens: 0, completionTokens: cap };
    const { admitted, handle } = await burstAfter("chat", { body, usage, then: () => body, burstUsage: usage }, false);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted * cap).toBeLessThanOrEqual(LIMIT);
    // The harness's project allows 1,024 output tokens.
    const beyond = await handle({ ...body, max_tokens: 100_000 }).then(
      () => null,
      (error: unknown) => error as { status?: number; param?: string },
    );
    expect({ status: beyond?.status, param: beyond?.param }).toEqual({ status: 400, param: "max_tokens" });
  });

  it("Responses: tool parameter schemas and the output format's schema (keys and enums, not only descriptions)", async () => {
    const body = {
      model: "gpt-4o-mini",
      max_output_tokens: OUTPUT_CAP,
      input: "hello",
      tools: [{ type: "function", name: "lookup_account", parameters: weatherSchema(30) }],
      text: { format: { type: "json_schema", name: "answer", schema: weatherSchema(30) } },
    };
    const readByTheModel = 2 * sum(schemaWords(30)) + OUTPUT_CAP;
    const admitted = await burst("responses", body);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted * readByTheModel).toBeLessThanOrEqual(LIMIT);
  });

  it("embeddings: texts by their tokens, token arrays by their length", async () => {
    const tokenArray = Array.from({ length: 350 }, (_, index) => index + 1000);
    const admittedArrays = await burst("embeddings", { model: "gpt-4o-mini", input: [tokenArray, tokenArray] });
    expect(admittedArrays).toBeGreaterThan(0);
    expect(admittedArrays * 2 * tokenArray.length).toBeLessThanOrEqual(LIMIT);
    const texts = [prose("A passage to index", 80), prose("Another passage", 80)];
    const admittedTexts = await burst("embeddings", { model: "gpt-4o-mini", input: texts });
    expect(admittedTexts).toBeGreaterThan(0);
    expect(admittedTexts * sum(texts)).toBeLessThanOrEqual(LIMIT);
  });

  it("Responses: the stored history a request continues (previous_response_id) where this instance served the turn before, plain and streamed", async () => {
    // What the model reads again: the turn before's input (its own history included) and its answer.
    const history: CompletionUsage = { promptTokens: 700, cachedPromptTokens: 0, completionTokens: 200 };
    const readByTheModel = history.promptTokens + history.completionTokens + OUTPUT_CAP;
    const turn = { model: "gpt-4o-mini", max_output_tokens: OUTPUT_CAP, input: "And then?" };
    for (const before of [
      { body: { ...turn, store: true }, usage: history, then: (id: string) => ({ ...turn, previous_response_id: id }) },
      { body: { ...turn, stream: true }, usage: history, then: (id: string) => ({ ...turn, previous_response_id: id }) },
    ]) {
      const { admitted } = await burstAfter("responses", before);
      expect(admitted).toBeGreaterThan(0);
      expect(admitted * readByTheModel).toBeLessThanOrEqual(LIMIT);
    }
  });

  it("Responses: a history this instance has not seen is settled at what the upstream reports, and the next request in the window is refused", async () => {
    const turn = { model: "gpt-4o-mini", max_output_tokens: OUTPUT_CAP, input: "And then?" };
    // A Response served elsewhere: nothing to count before the call (the bound docs/limits.md states).
    const elsewhere = { body: turn, usage: DEFAULT_USAGE, servedElsewhere: "resp_served_elsewhere", then: () => ({ ...turn, previous_response_id: "resp_served_elsewhere" }), burstUsage: { promptTokens: LIMIT / 4, cachedPromptTokens: 0, completionTokens: 5 } };
    const { admitted, handle } = await burstAfter("responses", elsewhere, false);
    // Each was reserved at its own input: the whole burst went (the bound: one history per request in flight).
    expect(admitted).toBe(BURST);
    // Each read a history of LIMIT / 4 tokens and is settled at that: the window is over.
    const next = await handle(turn).then(
      () => "served",
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(next).toBe("rate_limit_exceeded");
  });
});
