import { describe, expect, it } from "vitest";
import { Redactor } from "../../../../src/core/dlp/index.js";
import { ResponsesStreamSession } from "../../../../src/core/gateway/operations/responses/ResponsesStreamSession.js";
import { OutputScanner } from "../../../../src/core/gateway/pipeline/OutputScanner.js";
import { policySchema } from "../../../../src/core/policy/schema.js";

const project = (output: "redact" | "block") =>
  policySchema.parse({
    version: 1,
    projects: [{ id: "p", residency: "eu", models: [{ name: "m", deployment: "m" }], dlp: { output } }],
    endpoints: [{ id: "e", provider: "azure", baseUrl: "https://e.openai.azure.com", region: "r", residency: "eu", class: "standard", deployments: ["m"] }],
  }).projects[0]!;

const at = { item_id: "msg_1", output_index: 0, content_index: 0 };
const textEvents = (pieces: readonly string[]) => [
  { type: "response.created", sequence_number: 0, response: { id: "resp_1", output: [] } },
  { type: "response.output_item.added", sequence_number: 1, output_index: 0, item: { type: "message", id: "msg_1", content: [] } },
  ...pieces.map((delta, index) => ({ type: "response.output_text.delta", sequence_number: 2 + index, ...at, delta })),
  { type: "response.output_text.done", sequence_number: 90, ...at, text: pieces.join("") },
  { type: "response.output_item.done", sequence_number: 91, output_index: 0, item: { type: "message", id: "msg_1", content: [{ type: "output_text", text: pieces.join("") }] } },
  { type: "response.completed", sequence_number: 92, response: { id: "resp_1", output: [{ type: "message", content: [{ type: "output_text", text: pieces.join("") }] }], usage: { input_tokens: 3, output_tokens: 5 } } },
];

function run(session: ResponsesStreamSession, events: readonly unknown[]): Record<string, unknown>[] {
  return events.flatMap((event) => session.push(event)).map((frame) => JSON.parse(frame.split("data: ")[1] ?? "{}") as Record<string, unknown>);
}

describe("ResponsesStreamSession", () => {
  it("holds back a card split across deltas, and every event that repeats the text carries the redacted one", () => {
    const session = new ResponsesStreamSession(new OutputScanner(project("redact").dlp, new Redactor()));
    const frames = run(session, textEvents(["Your card is 4111 ", "1111 1111", " 1111, thanks"]));
    const deltas = frames.filter((frame) => frame.type === "response.output_text.delta").map((frame) => frame.delta as string);
    expect(deltas.join("")).toBe("Your card is [CREDIT_CARD_1], thanks");
    expect(frames.find((frame) => frame.type === "response.output_text.done")?.text).toBe("Your card is [CREDIT_CARD_1], thanks");
    expect(JSON.stringify(frames)).not.toContain("4111");
    expect(frames.map((frame) => frame.sequence_number)).toEqual(frames.map((_, index) => index));
    expect(session.usage()).toEqual({ promptTokens: 3, cachedPromptTokens: 0, completionTokens: 5 });
  });

  it("under block, stops releasing text once the value is seen, and says so through the scanner", () => {
    const scanner = new OutputScanner(project("block").dlp, new Redactor());
    const session = new ResponsesStreamSession(scanner);
    const frames = run(session, textEvents(["card 4111 1111 1111 1111 ", "more"]).slice(0, 5));
    expect(scanner.blocked).toBe(true);
    expect(JSON.stringify(frames)).not.toContain("4111");
    expect(session.errorFrame({ message: "blocked", type: "invalid_request_error", code: "sensitive_data_detected" })).toMatch(/^event: error\ndata: .*"error":\{"message":"blocked"/);
  });

  it("inspects function-call arguments that arrive in fragments", () => {
    const session = new ResponsesStreamSession(new OutputScanner(project("redact").dlp, new Redactor()));
    const args = ['{"card":"4111', " 1111 1111 ", '1111"}'];
    const frames = run(session, [
      { type: "response.output_item.added", output_index: 0, item: { type: "function_call", id: "fc_1", arguments: "" } },
      ...args.map((delta) => ({ type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 0, delta })),
      { type: "response.function_call_arguments.done", item_id: "fc_1", output_index: 0, arguments: args.join("") },
      { type: "response.output_item.done", output_index: 0, item: { type: "function_call", id: "fc_1", arguments: args.join("") } },
    ]);
    const deltas = frames.filter((frame) => frame.type === "response.function_call_arguments.delta").map((frame) => frame.delta as string);
    expect(deltas.join("")).toBe('{"card":"[CREDIT_CARD_1]"}');
    expect((frames.at(-1)?.item as { arguments?: string }).arguments).toBe('{"card":"[CREDIT_CARD_1]"}');
  });

  it("an event of a type it does not know has every string inspected, at any depth (ids left alone)", () => {
    const session = new ResponsesStreamSession(new OutputScanner(project("redact").dlp, new Redactor()));
    const frames = run(session, [
      { type: "response.new_feature.completed", item_id: "nf_1", output_index: 1, result: { title: "Payment", lines: [`card 4111 1111 1111 1111 on file`] } },
      { type: "response.output_text.annotation.added", item_id: "msg_1", output_index: 0, annotation: { type: "url_citation", title: "Card 5555 5555 5555 4444", url: "https://example.com/" } },
    ]);
    expect(frames[0]).toMatchObject({ type: "response.new_feature.completed", item_id: "nf_1", result: { title: "Payment", lines: ["card [CREDIT_CARD_1] on file"] } });
    expect((frames[1]?.annotation as { title?: string }).title).toBe("Card [CREDIT_CARD_2]");
    expect(JSON.stringify(frames)).not.toMatch(/4111|5555/);
  });

  it("streams the deltas of an unknown text event through the hold-back, and its .done repeats the inspected whole", () => {
    const session = new ResponsesStreamSession(new OutputScanner(project("redact").dlp, new Redactor()));
    const pieces = ["Transcript: card 4111 ", "1111 1111", " 1111, done"];
    const where = { item_id: "tr_1", output_index: 0, content_index: 0 };
    const frames = run(session, [
      ...pieces.map((delta) => ({ type: "response.transcript_text.delta", ...where, delta, logprobs: [{ token: delta }] })),
      { type: "response.transcript_text.done", ...where, transcript: pieces.join("") },
    ]);
    const deltas = frames.filter((frame) => frame.type === "response.transcript_text.delta");
    expect(deltas.map((frame) => frame.delta).join("")).toBe("Transcript: card [CREDIT_CARD_1], done");
    expect(JSON.stringify(deltas)).not.toContain("token");
    expect(frames.at(-1)).toMatchObject({ type: "response.transcript_text.done", transcript: "Transcript: card [CREDIT_CARD_1], done" });
    expect(JSON.stringify(frames)).not.toContain("4111");
    expect(session.receivedTexts().join("")).toBe(pieces.join(""));
  });

  it("an unknown delta stream that never sees its .done releases what it held when the stream ends", () => {
    const session = new ResponsesStreamSession(new OutputScanner(project("redact").dlp, new Redactor()));
    const frames = run(session, [{ type: "response.transcript_text.delta", output_index: 0, delta: "card 4111 1111 1111 1111" }]);
    const tail = session.finish().map((frame) => JSON.parse(frame.split("data: ")[1] ?? "{}") as Record<string, unknown>);
    expect([...frames, ...tail].map((frame) => frame.delta).join("")).toBe("card [CREDIT_CARD_1]");
    expect(tail[0]?.type).toBe("response.transcript_text.delta");
  });

  it("under block, an unknown event carrying a value marks the answer blocked (the pipeline drops its frames and stops)", () => {
    const scanner = new OutputScanner(project("block").dlp, new Redactor());
    const session = new ResponsesStreamSession(scanner);
    run(session, [{ type: "response.new_feature.completed", output_index: 0, result: "card 4111 1111 1111 1111" }]);
    expect(scanner.blocked).toBe(true);
  });

  it("passes text-free lifecycle events unchanged", () => {
    const session = new ResponsesStreamSession(new OutputScanner(project("redact").dlp, new Redactor()));
    const created = { type: "response.created", response: { id: "resp_1", instructions: "card 4111 1111 1111 1111", output: [] } };
    expect(run(session, [created])[0]).toEqual({ ...created, sequence_number: 0 });
  });
});
