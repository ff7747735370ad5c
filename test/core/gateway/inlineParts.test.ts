import { describe, expect, it } from "vitest";
import { createResponsesOperation } from "../../../src/core/gateway/operations/responses/responsesOperation.js";
import { type GatewayRequest } from "../../../src/core/gateway/GatewayRequest.js";
import { CARD, jsonResponse, refusalOf } from "./gatewayHarness.js";
import { useMockUpstreamHarness } from "./mockUpstreamHarness.js";

/**
 * Parts that carry data instead of text (issue: loose end 1 of session 10). Text smuggled as an
 * "image" (a `data:text/plain` URL, or text bytes labelled image/png), as audio, or inside a file
 * must never reach the upstream unread: image and audio parts that are not images or audio are
 * refused (400), a file's text is inspected (and redacted in its own encoding), and what stays
 * unreadable is counted, refused for pii, and audited when let through.
 */
const { mock, provider, harness } = useMockUpstreamHarness();
type Harness = Awaited<ReturnType<typeof harness>>;

const received = (): Record<string, unknown> => mock().requests().at(-1)?.body ?? {};
const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
const SECRET_TEXT = `Customer card: ${CARD}`;
const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/** A PDF header and a binary stream: not text (NUL bytes). */
const PDF = `data:application/pdf;base64,${Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.from([0, 1, 2, 0xff, 0])]).toString("base64")}`;

const chat = (h: Harness, parts: readonly Record<string, unknown>[], dataClassHeader?: string): GatewayRequest =>
  h.request({ ...(dataClassHeader ? { dataClassHeader } : {}), extraBody: { messages: [{ role: "user", content: [{ type: "text", text: "read this" }, ...parts] }] } });
const responses = (h: Harness, parts: readonly Record<string, unknown>[], dataClassHeader?: string): GatewayRequest => ({
  ...h.request(dataClassHeader ? { dataClassHeader } : {}),
  body: { model: "gpt-4o-mini", max_output_tokens: 50, input: [{ role: "user", content: [{ type: "input_text", text: "read this" }, ...parts] }] },
});
const handleResponses = (h: Harness, request: GatewayRequest) => h.pipeline.handle(createResponsesOperation(provider), request);

/** The refusal: 400, the part named, nothing upstream, the value not echoed. */
async function expectNotMedia(promise: Promise<unknown>, param: string): Promise<void> {
  const error = await refusalOf(promise);
  expect([error.status, error.code, error.param]).toEqual([400, "invalid_request", param]);
  expect(error.message).not.toContain("4111");
  expect(mock().requests()).toHaveLength(0);
}

describe("chat: an image_url part must hold an image", () => {
  const image = (url: string) => ({ type: "image_url", image_url: { url } });

  it.each([
    ["data:text/plain;base64", `data:text/plain;base64,${base64(SECRET_TEXT)}`],
    ["data:application/json (percent-encoded)", `data:application/json,${encodeURIComponent(JSON.stringify({ card: CARD }))}`],
    ["data: with no media type (text/plain by RFC 2397)", `data:,${encodeURIComponent(SECRET_TEXT)}`],
    ["text bytes labelled image/png", `data:image/png;base64,${base64(SECRET_TEXT)}`],
  ])("%s is refused with 400 naming the part", async (_name, url) => {
    const h = await harness({ uninspectableInputs: "allow" });
    await expectNotMedia(h.service.handle(chat(h, [image(url)])), "messages[0].content[1].image_url.url");
    expect(h.audit.events.at(-1)).toMatchObject({ status: "blocked", reason: "invalid_request" });
  });

  it("a real image and a remote URL pass where the project allows uninspectable parts (counted on the audit event)", async () => {
    const h = await harness({ uninspectableInputs: "allow" });
    const response = jsonResponse(await h.service.handle(chat(h, [image(PNG), image("https://example.com/cat.png")])));
    expect(response.status).toBe(200);
    expect(JSON.stringify(received())).toContain("image/png");
    const call = h.audit.events.find((event) => event.type === "api_call");
    expect(call?.details).toMatchObject({ uninspectableParts: 2 });
  });
});

describe("chat: audio parts must hold audio", () => {
  it("input_audio whose base64 is text is refused with 400", async () => {
    const h = await harness({ uninspectableInputs: "allow" });
    await expectNotMedia(h.service.handle(chat(h, [{ type: "input_audio", input_audio: { data: base64(SECRET_TEXT), format: "wav" } }])), "messages[0].content[1].input_audio.data");
  });

  it("real audio bytes pass as uninspectable where the project allows them", async () => {
    const h = await harness({ uninspectableInputs: "allow" });
    const wav = Buffer.concat([Buffer.from("RIFF"), Buffer.from([36, 0, 0, 0]), Buffer.from("WAVEfmt "), Buffer.alloc(8)]).toString("base64");
    expect(jsonResponse(await h.service.handle(chat(h, [{ type: "input_audio", input_audio: { data: wav, format: "wav" } }]))).status).toBe(200);
  });
});

describe("chat: a file part's text is inspected like a message", () => {
  const file = (fileData: string, filename = "notes.txt") => ({ type: "file", file: { filename, file_data: fileData } });
  const sentFileData = (): string => {
    const messages = received().messages as { content: { file?: { file_data: string } }[] }[];
    return messages[0]?.content[1]?.file?.file_data ?? "";
  };

  it("a text data URL is redacted, written back base64 in the same data URL", async () => {
    const h = await harness();
    const response = jsonResponse(await h.service.handle(chat(h, [file(`data:text/plain;base64,${base64(SECRET_TEXT)}`)])));
    expect(response.status).toBe(200);
    expect(response.headers["x-palisade-redactions"]).toBe("1");
    const sent = sentFileData();
    expect(sent.startsWith("data:text/plain;base64,")).toBe(true);
    expect(Buffer.from(sent.slice("data:text/plain;base64,".length), "base64").toString("utf8")).toBe("Customer card: [CREDIT_CARD_1]");
  });

  it("text declared as application/octet-stream, and bare base64, are read by what they hold", async () => {
    const h = await harness();
    await h.service.handle(chat(h, [file(`data:application/octet-stream;base64,${base64(SECRET_TEXT)}`, "x.bin")]));
    expect(Buffer.from(sentFileData().split(",")[1] ?? "", "base64").toString("utf8")).toContain("[CREDIT_CARD_1]");
    await h.service.handle(chat(h, [file(base64(SECRET_TEXT))]));
    expect(Buffer.from(sentFileData(), "base64").toString("utf8")).toBe("Customer card: [CREDIT_CARD_1]");
  });

  it("blocks where the class blocks (public): 422 and nothing upstream", async () => {
    const h = await harness();
    const error = await refusalOf(h.service.handle(chat(h, [file(`data:text/csv;base64,${base64(`name,card\nAda,${CARD}`)}`)], "public")));
    expect([error.status, error.code]).toEqual([422, "sensitive_data_detected"]);
    expect(mock().requests()).toHaveLength(0);
  });

  it("the file name is inspected too", async () => {
    const h = await harness({ uninspectableInputs: "allow" });
    await h.service.handle(chat(h, [file(PDF, `statement ${CARD}.pdf`)]));
    expect(JSON.stringify(received())).not.toContain(CARD);
  });

  it("a binary file stays uninspectable: refused, whatever the class, unless the project allows", async () => {
    const h = await harness();
    for (const dataClass of ["internal", "pii"] as const) {
      const error = await refusalOf(h.service.handle(chat(h, [file(PDF, "statement.pdf")], dataClass)));
      expect([error.status, error.code]).toEqual([422, "uninspectable_content"]);
    }
    const text = await harness();
    expect(jsonResponse(await text.service.handle(chat(text, [file(`data:text/plain;base64,${base64("hello")}`)], "pii"))).status).toBe(200);
  });
});

describe("Responses: input_image, input_audio and input_file follow the same rule", () => {
  it("an input_image data URL of text is refused with 400", async () => {
    const h = await harness({ uninspectableInputs: "allow" });
    await expectNotMedia(handleResponses(h, responses(h, [{ type: "input_image", image_url: `data:text/plain;base64,${base64(SECRET_TEXT)}` }])), "input[0].content[1].image_url");
  });

  it("an input_audio part of text is refused with 400", async () => {
    const h = await harness({ uninspectableInputs: "allow" });
    await expectNotMedia(handleResponses(h, responses(h, [{ type: "input_audio", input_audio: { data: base64(SECRET_TEXT), format: "mp3" } }])), "input[0].content[1].input_audio.data");
  });

  it("an input_file's text is redacted in its own encoding", async () => {
    const h = await harness();
    const response = jsonResponse(await handleResponses(h, responses(h, [{ type: "input_file", filename: "a.json", file_data: `data:application/json;base64,${base64(JSON.stringify({ card: CARD }))}` }])));
    expect(response.status).toBe(200);
    const input = received().input as { content: { file_data?: string }[] }[];
    const sent = input[0]?.content[1]?.file_data ?? "";
    expect(Buffer.from(sent.split(",")[1] ?? "", "base64").toString("utf8")).toBe(JSON.stringify({ card: "[CREDIT_CARD_1]" }));
  });

  it("an input_image that is a real image passes where allowed; a part type Palisade does not know counts as uninspectable (refused by default)", async () => {
    const allowing = await harness({ uninspectableInputs: "allow" });
    expect(jsonResponse(await handleResponses(allowing, responses(allowing, [{ type: "input_image", image_url: PNG }]))).status).toBe(200);
    const h = await harness();
    const error = await refusalOf(handleResponses(h, responses(h, [{ type: "input_text_v2", text: SECRET_TEXT }])));
    expect([error.status, error.code]).toEqual([422, "uninspectable_content"]);
  });
});
