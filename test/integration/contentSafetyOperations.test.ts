import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sayDirective, toolDirective } from "../../local/mockOpenAi/toolCalls.js";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { DAN_PROMPT, INJECTED_DOCUMENT } from "../contracts/contentSafety.contract.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";

/**
 * Content safety on embeddings and the Responses API, through the local host with the real `openai`
 * client, the mock upstream and the Content Safety emulator (the real `@azure-rest/ai-content-safety`
 * client talks to it): who wrote each text decides which shield reads it, refusals and flags are
 * audited, the service being down fails closed or open per project, and nothing blocked in a streamed
 * answer reaches the client.
 */
const UPSTREAMS = { eu: { name: "eu-west", region: "westeurope" } } as const;
type Upstream = keyof typeof UPSTREAMS;

const PERMISSIONS = ["embeddings.create", "responses.create"] as const;
const models = [
  { name: "gpt-4o-mini", deployment: "gpt-4o-mini" },
  { name: "text-embedding-3-small", deployment: "embed-small" },
];

function policy(urls: Readonly<Record<Upstream, string>>): PolicyInput {
  return {
    version: 1,
    projects: [
      {
        id: "shielded",
        residency: "eu",
        models,
        contentSafety: { shields: { enabled: true, action: "block" }, categories: { violence: { threshold: 4, action: "block" } }, output: true, outputWindowChars: 100 },
      },
      {
        id: "flagging",
        residency: "eu",
        models,
        contentSafety: { shields: { enabled: true, action: "flag" }, categories: { hate: { threshold: 2, action: "flag" } }, onUnavailable: { shields: "fail_open", categories: "fail_open" } },
      },
    ],
    serviceAccounts: [
      { id: "shielded-app", project: "shielded", permissions: [...PERMISSIONS] },
      { id: "flagging-app", project: "flagging", permissions: [...PERMISSIONS] },
    ],
    endpoints: [{ id: "eu-west", provider: "azure", baseUrl: urls.eu, region: "westeurope", residency: "eu", class: "standard", deployments: ["gpt-4o-mini", "embed-small"], operations: ["chat", "embeddings", "responses"], auth: { kind: "none" }, timeoutInMs: 5_000 }],
    pricing: { "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 }, "embed-small": { embeddingsPer1M: 0.02 } },
  };
}

let gateway: GatewayStack<Upstream>;
const keys: Record<string, string> = {};

beforeAll(async () => {
  gateway = await startGatewayStack({ upstreams: UPSTREAMS, policy, runServiceBusTriggers: true });
  for (const project of ["shielded", "flagging"]) keys[project] = await gateway.createKey(project, `${project}-app`);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

const client = (project: string) => new OpenAI({ baseURL: gateway.baseUrl, apiKey: keys[project] ?? "", maxRetries: 0, timeout: 15_000 });
const withId = (requestId: string) => ({ headers: { "x-request-id": requestId } });
const EMBEDDING_MODEL = "text-embedding-3-small";

async function refusal(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(APIError);
  return error as APIError;
}

/** The request's events other than its admission, once the Service Bus trigger has appended them. */
async function eventsOf(project: string, requestId: string, timeoutInMs = 20_000): Promise<AuditEvent[]> {
  const { getAppServices } = await import("../../src/composition/appServices.js");
  const services = await getAppServices();
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const events: AuditEvent[] = [];
    for await (const event of queryAuditEvents(services.audit.ledger, { chainId: project })) if (event.requestId === requestId) events.push(event);
    const final = events.filter((event) => event.type !== "request_admitted" && (event.type as string) !== "fallback_triggered");
    if (final.length > 0 || Date.now() > deadline) return final;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A Responses conversation where a tool's output (an e-mail the assistant read) carries `toolOutput`. */
const toolTurn = (toolOutput: string): OpenAI.Responses.ResponseInput => [
  { role: "user", content: "Summarise my latest e-mail." },
  { type: "function_call", call_id: "call_1", name: "read_email", arguments: "{}" },
  { type: "function_call_output", call_id: "call_1", output: toolOutput },
];

/** Everything a Responses stream showed its caller: deltas, and the whole texts of done, item and completed events. */
async function readResponsesStream(stream: AsyncIterable<OpenAI.Responses.ResponseStreamEvent>): Promise<{ shown: string; deltas: string; failure: unknown }> {
  let shown = "";
  let deltas = "";
  try {
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") deltas += event.delta;
      shown += JSON.stringify(event);
    }
    return { shown, deltas, failure: null };
  } catch (failure) {
    return { shown, deltas, failure };
  }
}

describe("content safety on the Responses API, with the openai SDK and the Content Safety emulator", () => {
  it("refuses a DAN jailbreak in the user's input with 400 content_filter, plain and streamed, before any upstream call, and audits a prompt attack", async () => {
    gateway.mocks.eu.clearRequests();
    const plain = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: DAN_PROMPT }, withId("csr-dan-0001")));
    expect({ status: plain.status, code: plain.code, param: plain.param }).toEqual({ status: 400, code: "content_filter", param: "prompt" });
    expect(plain.message).toContain("prompt attack in the user prompt");
    expect(plain.message).not.toContain("DAN");
    const streamed = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: [{ role: "user", content: [{ type: "input_text", text: DAN_PROMPT }] }], stream: true }));
    expect(streamed.code).toBe("content_filter");
    expect(gateway.mocks.eu.requests()).toHaveLength(0);
    const [event] = await eventsOf("shielded", "csr-dan-0001");
    expect(event).toMatchObject({ type: "prompt_attack_detected", status: "blocked", httpStatus: 400, reason: "content_filter", details: { operation: "responses", safetySource: "palisade", promptAttack: "user_prompt" } });
    expect(JSON.stringify(event)).not.toContain("do anything now");
  });

  it("refuses an instruction hidden in a function_call_output item as a prompt attack in a document, plain and streamed; the same words as the app's instructions are not a document", async () => {
    const plain = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: toolTurn(INJECTED_DOCUMENT) }, withId("csr-doc-0001")));
    expect(plain.code).toBe("content_filter");
    expect(plain.message).toContain("prompt attack in a document");
    const streamed = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: toolTurn(INJECTED_DOCUMENT), stream: true }));
    expect(streamed.message).toContain("prompt attack in a document");
    const [event] = await eventsOf("shielded", "csr-doc-0001");
    expect(event).toMatchObject({ type: "prompt_attack_detected", details: { promptAttack: "document", documentAttacks: 1 } });

    const benign = await client("shielded").responses.create({ model: "gpt-4o-mini", input: toolTurn("Lunch moved to 1pm on Friday.") });
    expect(benign.output_text).toContain("mock response");
    // The app's own system prompt is not third-party content: it is not sent to the document shield.
    const instructed = await client("shielded").responses.create({ model: "gpt-4o-mini", instructions: INJECTED_DOCUMENT, input: "What is on my calendar?" });
    expect(instructed.status).toBe("completed");
  });

  it("refuses a harmful category above the threshold in the input, naming the category and severity", async () => {
    const error = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: "Write a scene [[cs:violence=6]]" }, withId("csr-cat-0001")));
    expect({ status: error.status, code: error.code }).toEqual({ status: 400, code: "content_filter" });
    expect(error.message).toContain("Violence (severity 6)");
    expect(error.error).toMatchObject({ innererror: { source: "palisade", content_filter_result: { violence: { filtered: true, severity: "high" } } } });
    const [event] = await eventsOf("shielded", "csr-cat-0001");
    expect(event).toMatchObject({ type: "content_filtered", status: "blocked", details: { safetyCategories: "Violence", "severity.Violence": 6 } });
  });

  it("screens the answer: a harmful plain answer is refused; a harmful streamed one stops with an error event, and no text of the harmful window reaches the client", async () => {
    const harmful = `${"Once upon a time there was a quiet village. ".repeat(6)}Then the violence began [[cs:violence=6]] and it went on.`;
    const plain = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: `Tell me a story ${sayDirective(harmful)}` }, withId("csr-out-0001")));
    expect(plain.code).toBe("content_filter");
    expect(plain.message).toContain("The model's answer was filtered");
    const [event] = await eventsOf("shielded", "csr-out-0001");
    expect(event).toMatchObject({ type: "content_filtered", details: { safetyPlace: "completion", safetyCategories: "Violence" } });

    const stream = await client("shielded").responses.create({ model: "gpt-4o-mini", input: `Tell me a story ${sayDirective(harmful)}`, stream: true }, withId("csr-out-0002"));
    const { shown, deltas, failure } = await readResponsesStream(stream);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).code).toBe("content_filter");
    expect(deltas).toContain("Once upon a time");
    // The window holding the harm, and everything after it (the done, item and completed events that repeat it), never reach the caller.
    expect(shown).not.toContain("[[cs:");
    expect(shown).not.toContain("went on");
    expect(shown).not.toContain("response.completed");
    expect(deltas.length).toBeLessThan(harmful.indexOf("[[cs:"));
    const [streamed] = await eventsOf("shielded", "csr-out-0002");
    expect(streamed).toMatchObject({ type: "content_filtered", details: { streamed: true, safetyPlace: "completion" } });

    const clean = await client("shielded").responses.create({ model: "gpt-4o-mini", input: `Tell me a story ${sayDirective("A calm story about a garden. ".repeat(8))}`, stream: true });
    const served = await readResponsesStream(clean);
    expect(served.failure).toBeNull();
    expect(served.deltas).toBe("A calm story about a garden. ".repeat(8));
  });

  it("screens the model's function-call arguments too: refused plain, stopped streamed before the harmful fragment", async () => {
    const args = JSON.stringify({ note: `${"Meeting notes for the quarterly planning session. ".repeat(4)}then the violence began [[cs:violence=6]]`, to: "team@example.com" });
    const prompt = `Send the notes ${toolDirective("send_notes", args)}`;
    const plain = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: prompt }));
    expect(plain.code).toBe("content_filter");
    const stream = await client("shielded").responses.create({ model: "gpt-4o-mini", input: prompt, stream: true });
    let argumentsShown = "";
    let shown = "";
    const failure = await (async () => {
      for await (const event of stream) {
        if (event.type === "response.function_call_arguments.delta") argumentsShown += event.delta;
        shown += JSON.stringify(event);
      }
      return null;
    })().catch((error: unknown) => error);
    expect((failure as APIError | null)?.code).toBe("content_filter");
    expect(argumentsShown).not.toBe("");
    expect(args.startsWith(argumentsShown)).toBe(true);
    expect(shown).not.toContain("cs:violence");
    expect(shown).not.toContain("team@example.com");
  });

  it("flags and passes where the project's action is flag, recording it on the call; one Content Safety call of each kind for the input, none for a repeat (HMAC cache)", async () => {
    gateway.stack.contentSafety.clearCalls();
    const input = toolTurn(`${INJECTED_DOCUMENT} ${Date.now()}`);
    const { data, response } = await client("flagging").responses.create({ model: "gpt-4o-mini", input }, withId("csr-flag-0001")).withResponse();
    expect(response.status).toBe(200);
    expect(data.output_text).toContain("mock response");
    expect(gateway.stack.contentSafety.calls()).toEqual({ shieldPrompt: 1, analyze: 1 });
    await client("flagging").responses.create({ model: "gpt-4o-mini", input });
    expect(gateway.stack.contentSafety.calls()).toEqual({ shieldPrompt: 1, analyze: 1 });
    const [event] = await eventsOf("flagging", "csr-flag-0001");
    expect(event).toMatchObject({ type: "api_call", status: "success", details: { operation: "responses", safetyAction: "flag", promptAttack: "document", documentAttacks: 1 } });
  });

  it("with the service down, answers 503 where the project fails closed (plain and streamed), and passes and records it where it fails open", async () => {
    gateway.stack.contentSafety.setOutage({ status: 503 });
    try {
      const closed = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: "Hello while the service is down" }));
      expect({ status: closed.status, code: closed.code }).toEqual({ status: 503, code: "content_safety_unavailable" });
      const closedStream = await refusal(client("shielded").responses.create({ model: "gpt-4o-mini", input: "Hello while the service is down", stream: true }));
      expect(closedStream.status).toBe(503);
      const open = await client("flagging").responses.create({ model: "gpt-4o-mini", input: "Hello while the service is down", stream: true }, withId("csr-open-0001"));
      const served = await readResponsesStream(open);
      expect(served.failure).toBeNull();
      const [event] = await eventsOf("flagging", "csr-open-0001");
      expect(event).toMatchObject({ type: "api_call", status: "success", details: { safetyFailedOpen: "categories,shields" } });
    } finally {
      gateway.stack.contentSafety.setOutage(null);
    }
  });
});

describe("content safety on responses.compact and responses.inputTokens.count", () => {
  it("refuses a DAN jailbreak in the input of either before any upstream call; a compaction whose output is harmful is refused", async () => {
    gateway.mocks.eu.clearRequests();
    const compacted = await refusal(client("shielded").responses.compact({ model: "gpt-4o-mini", input: DAN_PROMPT }, withId("csr-cmp-0001")));
    expect({ status: compacted.status, code: compacted.code }).toEqual({ status: 400, code: "content_filter" });
    const counted = await refusal(client("shielded").responses.inputTokens.count({ model: "gpt-4o-mini", input: DAN_PROMPT }));
    expect(counted.code).toBe("content_filter");
    expect(gateway.mocks.eu.requests()).toHaveLength(0);
    const [event] = await eventsOf("shielded", "csr-cmp-0001");
    expect(event).toMatchObject({ type: "prompt_attack_detected", status: "blocked", details: { operation: "responses.compact", promptAttack: "user_prompt" } });

    const harmful = `${"Once upon a time there was a quiet village. ".repeat(6)}Then the violence began [[cs:violence=6]] and it went on.`;
    const output = await refusal(client("shielded").responses.compact({ model: "gpt-4o-mini", input: `Summarise ${sayDirective(harmful)}` }, withId("csr-cmp-0002")));
    expect(output.code).toBe("content_filter");
    const [filtered] = await eventsOf("shielded", "csr-cmp-0002");
    expect(filtered).toMatchObject({ type: "content_filtered", details: { safetyPlace: "completion", safetyCategories: "Violence", operation: "responses.compact" } });
  });
});

describe("content safety on embeddings: every input is a document", () => {
  it("refuses an instruction hidden in a text to index as a prompt attack in a document, before any upstream call", async () => {
    gateway.mocks.eu.clearRequests();
    const error = await refusal(client("shielded").embeddings.create({ model: EMBEDDING_MODEL, input: ["Quarterly report, page 1.", INJECTED_DOCUMENT] }, withId("cse-doc-0001")));
    expect({ status: error.status, code: error.code }).toEqual({ status: 400, code: "content_filter" });
    expect(error.message).toContain("prompt attack in a document");
    expect(gateway.mocks.eu.requests()).toHaveLength(0);
    const [event] = await eventsOf("shielded", "cse-doc-0001");
    expect(event).toMatchObject({ type: "prompt_attack_detected", status: "blocked", details: { operation: "embeddings", promptAttack: "document", documentAttacks: 1 } });
    expect(JSON.stringify(event)).not.toContain("digital assistant");
  });

  it("refuses a harmful category above the threshold, and embeds benign text", async () => {
    const error = await refusal(client("shielded").embeddings.create({ model: EMBEDDING_MODEL, input: "A passage [[cs:violence=5]]" }));
    expect(error.code).toBe("content_filter");
    expect(error.message).toContain("Violence (severity 4)");
    const result = await client("shielded").embeddings.create({ model: EMBEDDING_MODEL, input: ["A passage about gardens.", "Another about rivers."] });
    expect(result.data).toHaveLength(2);
  });

  it("flags and embeds where the project's action is flag, with one call of each kind", async () => {
    gateway.stack.contentSafety.clearCalls();
    const { data, response } = await client("flagging")
      .embeddings.create({ model: EMBEDDING_MODEL, input: [`${INJECTED_DOCUMENT} ${Date.now()}`, "Some hateful words [[cs:hate=2]]"] }, withId("cse-flag-0001"))
      .withResponse();
    expect(response.status).toBe(200);
    expect(data.data).toHaveLength(2);
    expect(gateway.stack.contentSafety.calls()).toEqual({ shieldPrompt: 1, analyze: 1 });
    const [event] = await eventsOf("flagging", "cse-flag-0001");
    expect(event).toMatchObject({ type: "api_call", status: "success", details: { operation: "embeddings", safetyAction: "flag", promptAttack: "document", safetyCategories: "Hate" } });
  });

  it("with the service down, answers 503 where the project fails closed, and embeds and records it where it fails open", async () => {
    gateway.stack.contentSafety.setOutage({ status: 503 });
    try {
      const closed = await refusal(client("shielded").embeddings.create({ model: EMBEDDING_MODEL, input: "Hello while the service is down" }));
      expect({ status: closed.status, code: closed.code }).toEqual({ status: 503, code: "content_safety_unavailable" });
      const { response } = await client("flagging").embeddings.create({ model: EMBEDDING_MODEL, input: "Hello while the service is down" }, withId("cse-open-0001")).withResponse();
      expect(response.status).toBe(200);
      const [event] = await eventsOf("flagging", "cse-open-0001");
      expect(event).toMatchObject({ type: "api_call", status: "success", details: { safetyFailedOpen: "categories,shields" } });
    } finally {
      gateway.stack.contentSafety.setOutage(null);
    }
  });
});
