import { describe, expect, it } from "vitest";
import { ContentSafetyScreen } from "../../../src/core/safety/ContentSafetyScreen.js";
import { ContentSafetyStage } from "../../../src/core/safety/ContentSafetyStage.js";
import { contentSafetyPolicySchema } from "../../../src/core/safety/contentSafetyPolicy.js";
import { StreamOutputGate } from "../../../src/core/safety/outputSafety.js";
import { StreamedOutputTexts, outputTextOf } from "../../../src/core/safety/outputTexts.js";
import { FakeContentSafety } from "../../fakes/FakeContentSafety.js";

const HARM = "then the violence began [[cs:violence=6]]";
const at = { item_id: "msg_1", output_index: 0, content_index: 0 };
const message = (text: string) => ({ type: "message", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] });

describe("outputTextOf: what a whole answer shows its caller", () => {
  it("reads Responses message text and refusals, function and custom tool call arguments (and the calls' other fields) and reasoning summaries", () => {
    const body = {
      output: [
        { type: "reasoning", summary: [{ type: "summary_text", text: "Thinking aloud." }] },
        { type: "message", content: [{ type: "output_text", text: "Hello." }, { type: "refusal", refusal: "No." }] },
        { type: "function_call", name: "send", arguments: '{"to":"x"}' },
        { type: "custom_tool_call", name: "run", input: "rm -rf" },
      ],
      output_text: "Hello.",
    };
    expect(outputTextOf(body).split("\n")).toEqual(["Thinking aloud.", "Hello.", "No.", '{"to":"x"}', "send", "rm -rf", "run"]);
  });

  it("reads a convenience output_text that says something the output does not", () => {
    expect(outputTextOf({ output: [message("Hello.")], output_text: "Something else." })).toBe("Hello.\nSomething else.");
  });

  it("reads every string of a chat message field without a rule (reasoning_content, annotations, an audio transcript), not the audio itself", () => {
    const message = { content: "Hi", reasoning_content: "Thinking.", annotations: [{ type: "url_citation", url_citation: { title: "A page" } }], audio: { id: "audio_1", data: "UklGRg==", transcript: "Hi there" } };
    expect(outputTextOf({ choices: [{ message }] }).split("\n")).toEqual(["Hi", "Thinking.", "A page", "Hi there"]);
    const texts = new StreamedOutputTexts();
    expect(texts.textOf({ choices: [{ index: 0, delta: { reasoning_content: "then the violence" } }] })).toBe("then the violence");
  });

  it("reads every string of a Responses item or message part of another type (a hosted tool's results, a type added later), not a generated picture", () => {
    const body = {
      output: [
        { type: "mcp_call", id: "mcp_1", name: "lookup", arguments: "{}", output: "Tool said this." },
        { type: "image_generation_call", id: "ig_1", status: "completed", result: "iVBORw0KGgo=" },
        { type: "message", content: [{ type: "output_text", text: "Hello.", annotations: [{ type: "url_citation", title: "A page" }] }, { type: "future_part", note: "New text." }] },
      ],
    };
    expect(outputTextOf(body).split("\n")).toEqual(["lookup", "{}", "Tool said this.", "Hello.", "A page", "New text."]);
  });

  it("reads chat content, refusals and tool and legacy function call arguments", () => {
    const body = { choices: [{ message: { content: "Hi", refusal: "No", tool_calls: [{ function: { arguments: "{}" } }], function_call: { arguments: '{"a":1}' } } }] };
    expect(outputTextOf(body)).toBe('Hi\nNo\n{}\n{"a":1}');
  });
});

describe("StreamedOutputTexts: every text a Responses stream shows, screened once", () => {
  it("screens every string of an event of a type it does not know (ids left alone)", () => {
    const texts = new StreamedOutputTexts();
    const event = { type: "response.future_feature.completed", item_id: "ff_1", output_index: 1, result: { note: "then the violence began", parts: ["more text"] } };
    expect(texts.textOf(event)).toBe("then the violence began\nmore text");
    expect(texts.textOf({ type: "response.web_search_call.completed", item_id: "ws_1", output_index: 0 })).toBe("");
  });

  it("screens deltas, and not the whole texts that repeat them", () => {
    const texts = new StreamedOutputTexts();
    expect(texts.textOf({ type: "response.output_text.delta", ...at, delta: "Hello " })).toBe("Hello ");
    expect(texts.textOf({ type: "response.output_text.delta", ...at, delta: "world." })).toBe("world.");
    expect(texts.textOf({ type: "response.output_text.done", ...at, text: "Hello world." })).toBe("");
    expect(texts.textOf({ type: "response.content_part.done", ...at, part: { type: "output_text", text: "Hello world." } })).toBe("");
    expect(texts.textOf({ type: "response.output_item.done", output_index: 0, item: message("Hello world.") })).toBe("");
    expect(texts.textOf({ type: "response.completed", response: { output: [message("Hello world.")] } })).toBe("");
  });

  it("screens a text that never streamed as deltas when it first appears whole, and only then", () => {
    const texts = new StreamedOutputTexts();
    expect(texts.textOf({ type: "response.output_item.done", output_index: 0, item: message(HARM) })).toBe(HARM);
    expect(texts.textOf({ type: "response.completed", response: { output: [message(HARM)] } })).toBe("");
  });

  it("screens a whole text that differs from its deltas, and function-call arguments and reasoning summaries", () => {
    const texts = new StreamedOutputTexts();
    texts.textOf({ type: "response.output_text.delta", ...at, delta: "Hello" });
    expect(texts.textOf({ type: "response.output_text.done", ...at, text: HARM })).toBe(HARM);
    expect(texts.textOf({ type: "response.function_call_arguments.done", output_index: 1, arguments: '{"to":"x"}' })).toBe('{"to":"x"}');
    expect(texts.textOf({ type: "response.reasoning_summary_text.done", output_index: 2, summary_index: 0, text: "Thinking." })).toBe("Thinking.");
    expect(texts.textOf({ type: "response.completed", response: { output: [message(HARM), { type: "function_call", arguments: '{"to":"x"}' }, { type: "reasoning", summary: [{ type: "summary_text", text: "Thinking." }] }] } })).toBe("");
  });
});

describe("StreamOutputGate on a Responses stream", () => {
  const policy = contentSafetyPolicySchema.parse({ categories: { violence: { threshold: 4 } }, output: true, outputWindowChars: 100 });
  const gate = () => new StreamOutputGate(new ContentSafetyStage(new ContentSafetyScreen({ safety: new FakeContentSafety(), clock: { nowInMs: () => 0 }, cacheKey: new Uint8Array(32) })), { contentSafety: policy }, "internal");

  it("never releases a harmful text that arrives only whole (no deltas), nor anything after it", async () => {
    const subject = gate();
    const events = [
      { type: "response.created", response: { output: [] } },
      { type: "response.output_item.added", output_index: 0, item: message("") },
      { type: "response.output_text.done", ...at, text: HARM },
      { type: "response.output_item.done", output_index: 0, item: message(HARM) },
      { type: "response.completed", response: { output: [message(HARM)] } },
    ];
    const sent: string[] = [];
    for (const event of events) {
      sent.push(...(await subject.push(event, [JSON.stringify(event)])));
      if (subject.blocked) break;
    }
    if (!subject.blocked) sent.push(...(await subject.finish([])));
    expect(subject.blocked).toBe(true);
    expect(subject.failure()?.code).toBe("content_filter");
    expect(sent.join("")).not.toContain("violence");
  });
});
