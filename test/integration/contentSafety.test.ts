import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent } from "../../src/core/audit/AuditEvent.js";
import { queryAuditEvents } from "../../src/core/audit/queryAuditEvents.js";
import { type PolicyInput } from "../../src/core/policy/schema.js";
import { DAN_PROMPT, INJECTED_DOCUMENT } from "../contracts/contentSafety.contract.js";
import { type GatewayStack, startGatewayStack } from "../support/gatewayStack.js";

const UPSTREAMS = { eu: { name: "eu-west", region: "westeurope" } } as const;
type Upstream = keyof typeof UPSTREAMS;

const model = [{ name: "gpt-4o-mini", deployment: "gpt-4o-mini" }];
function policy(urls: Readonly<Record<Upstream, string>>): PolicyInput {
  return {
    version: 1,
    projects: [
      {
        id: "shielded",
        residency: "eu",
        models: model,
        contentSafety: { shields: { enabled: true, action: "block" }, categories: { violence: { threshold: 4, action: "block" } }, output: true, outputWindowChars: 100 },
      },
      {
        id: "flagging",
        residency: "eu",
        models: model,
        contentSafety: { shields: { enabled: true, action: "flag" }, categories: { hate: { threshold: 2, action: "flag" } }, onUnavailable: { shields: "fail_open", categories: "fail_open" } },
      },
      { id: "unscreened", residency: "eu", models: model },
    ],
    serviceAccounts: [
      { id: "shielded-app", project: "shielded", permissions: ["chat.completions"] },
      { id: "flagging-app", project: "flagging", permissions: ["chat.completions"] },
      { id: "unscreened-app", project: "unscreened", permissions: ["chat.completions"] },
    ],
    endpoints: [{ id: "eu-west", provider: "azure", baseUrl: urls.eu, region: "westeurope", residency: "eu", class: "standard", deployments: ["gpt-4o-mini"], auth: { kind: "none" }, timeoutInMs: 5_000 }],
    pricing: { "gpt-4o-mini": { inputPer1M: 0.15, outputPer1M: 0.6 } },
  };
}

let gateway: GatewayStack<Upstream>;
const keys: Record<string, string> = {};

beforeAll(async () => {
  gateway = await startGatewayStack({ upstreams: UPSTREAMS, policy, runServiceBusTriggers: true });
  for (const project of ["shielded", "flagging", "unscreened"]) keys[project] = await gateway.createKey(project, `${project}-app`);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

const client = (project: string) => new OpenAI({ baseURL: gateway.baseUrl, apiKey: keys[project] ?? "", maxRetries: 0, timeout: 15_000 });
const say = (text: string): string => `[[mock-say:b64:${Buffer.from(text, "utf8").toString("base64url")}]]`;

async function refusal(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(APIError);
  return error as APIError;
}

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

const toolTurn = (toolResult: string): OpenAI.ChatCompletionMessageParam[] => [
  { role: "user", content: "Summarise my latest e-mail." },
  { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "read_email", arguments: "{}" } }] },
  { role: "tool", tool_call_id: "call_1", content: toolResult },
];

describe("content safety through the local host, with the openai SDK and the Content Safety emulator", () => {
  it("refuses a DAN jailbreak in the user prompt with 400 content_filter, plain and streamed, before any upstream call, and audits a prompt attack", async () => {
    gateway.mocks.eu.clearRequests();
    const plain = await refusal(client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: DAN_PROMPT }] }, { headers: { "x-request-id": "cs-dan-plain-0001" } }));
    expect({ status: plain.status, code: plain.code, param: plain.param }).toEqual({ status: 400, code: "content_filter", param: "prompt" });
    expect(plain.message).toContain("prompt attack in the user prompt");
    expect(plain.message).not.toContain("DAN");
    expect(plain.error).toMatchObject({ innererror: { code: "ResponsibleAIPolicyViolation", source: "palisade", content_filter_result: { jailbreak: { filtered: true, detected: true } } } });
    const streamed = await refusal(client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: DAN_PROMPT }], stream: true }));
    expect(streamed.code).toBe("content_filter");
    expect(gateway.mocks.eu.requests()).toHaveLength(0);
    const [event] = await eventsOf("shielded", "cs-dan-plain-0001");
    expect(event).toMatchObject({ type: "prompt_attack_detected", status: "blocked", httpStatus: 400, reason: "content_filter", details: { safetySource: "palisade", promptAttack: "user_prompt", safetyAction: "block" } });
    expect(JSON.stringify(event)).not.toContain("do anything now");
  });

  it("refuses an instruction hidden in a tool result as a prompt attack in a document, plain and streamed", async () => {
    const plain = await refusal(client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: toolTurn(INJECTED_DOCUMENT) }));
    expect(plain.code).toBe("content_filter");
    expect(plain.message).toContain("prompt attack in a document");
    const streamed = await refusal(client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: toolTurn(INJECTED_DOCUMENT), stream: true }));
    expect(streamed.message).toContain("prompt attack in a document");
    const benign = await client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: toolTurn("Lunch moved to 1pm on Friday.") });
    expect(benign.choices[0]?.message.content).toContain("mock completion");
  });

  it("flags and passes a jailbreak where the project's action is flag, recording it on the call", async () => {
    const { data, response } = await client("flagging")
      .chat.completions.create({ model: "gpt-4o-mini", messages: toolTurn(INJECTED_DOCUMENT) }, { headers: { "x-request-id": "cs-flag-0001" } })
      .withResponse();
    expect(response.status).toBe(200);
    expect(data.choices[0]?.message.content).toContain("mock completion");
    const [event] = await eventsOf("flagging", "cs-flag-0001");
    expect(event).toMatchObject({ type: "api_call", status: "success", details: { safetyAction: "flag", promptAttack: "document", documentAttacks: 1 } });
  });

  it("screens the answer: a harmful plain answer is refused, a harmful streamed one stops with an error frame before the harm", async () => {
    const harmful = `${"Once upon a time there was a quiet village. ".repeat(6)}Then the violence began [[cs:violence=6]] and it went on.`;
    const plain = await refusal(client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Tell me a story ${say(harmful)}` }] }));
    expect(plain.code).toBe("content_filter");
    expect(plain.message).toContain("Violence (severity 6)");

    const stream = await client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Tell me a story ${say(harmful)}` }], stream: true });
    let received = "";
    const failure = await (async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? "";
      return null;
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).message)).toContain("content safety");
    expect(received).toContain("Once upon a time");
    // The window holding the harm (marked by the directive) and everything after it never reach the caller.
    expect(received).not.toContain("[[cs:");
    expect(received).not.toContain("went on");

    const clean = await client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `Tell me a story ${say("A calm story about a garden. ".repeat(8))}` }], stream: true });
    let text = "";
    for await (const chunk of clean) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("A calm story about a garden. ".repeat(8));
  });

  it("with the service down, answers 503 where shields fail closed, and passes and records it where the project fails open", async () => {
    gateway.stack.contentSafety.setOutage({ status: 503 });
    try {
      const closed = await refusal(client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello while the service is down" }] }));
      expect({ status: closed.status, code: closed.code }).toEqual({ status: 503, code: "content_safety_unavailable" });
      const { response } = await client("flagging")
        .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello while the service is down" }] }, { headers: { "x-request-id": "cs-open-0001" } })
        .withResponse();
      expect(response.status).toBe(200);
      const [event] = await eventsOf("flagging", "cs-open-0001");
      expect(event).toMatchObject({ type: "api_call", status: "success", details: { safetyFailedOpen: "categories,shields" } });
    } finally {
      gateway.stack.contentSafety.setOutage(null);
    }
  });

  it("maps Azure OpenAI's own content_filter refusal to the same error and audit event, with the source named upstream", async () => {
    const error = await refusal(
      client("unscreened").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "[[mock-filter:prompt=jailbreak]] hi" }] }, { headers: { "x-request-id": "cs-upstream-0001" } }),
    );
    expect({ status: error.status, code: error.code }).toEqual({ status: 400, code: "content_filter" });
    expect(error.message).toContain("upstream Azure OpenAI content filter (jailbreak)");
    expect(error.error).toMatchObject({ innererror: { source: "upstream", content_filter_result: { jailbreak: { filtered: true, detected: true } } } });
    const [event] = await eventsOf("unscreened", "cs-upstream-0001");
    expect(event).toMatchObject({ type: "prompt_attack_detected", status: "blocked", reason: "content_filter", details: { safetySource: "upstream", upstreamFiltered: "jailbreak" } });
  });

  it("keeps Azure OpenAI's prompt_filter_results and content_filter_results annotations, plain and streamed", async () => {
    const plain = (await client("unscreened").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "[[mock-filter:annotate]] hi" }] })) as unknown as Record<string, unknown> & {
      choices: Record<string, unknown>[];
    };
    expect(plain.prompt_filter_results).toEqual([{ prompt_index: 0, content_filter_results: expect.objectContaining({ hate: { filtered: false, severity: "safe" } }) }]);
    expect(plain.choices[0]?.content_filter_results).toMatchObject({ violence: { filtered: false, severity: "safe" } });
    const stream = await client("shielded").chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "[[mock-filter:annotate]] hi" }], stream: true });
    const chunks: Record<string, unknown>[] = [];
    for await (const chunk of stream) chunks.push(chunk as unknown as Record<string, unknown>);
    expect(chunks.some((chunk) => Array.isArray(chunk.prompt_filter_results))).toBe(true);
    expect(chunks.some((chunk) => (chunk.choices as Record<string, unknown>[])[0]?.content_filter_results !== undefined)).toBe(true);
  });
});
