import { HttpRequest } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { readJsonBody } from "../../../src/adapters/http/readJsonBody.js";
import { isPalisadeError } from "../../../src/core/errors.js";

const post = (body: string | Uint8Array | undefined, headers: Record<string, string> = { "content-type": "application/json" }): HttpRequest =>
  new HttpRequest({
    method: "POST",
    url: "http://127.0.0.1:7071/api/v1/chat/completions",
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? { string: body } : { bytes: body } }),
  });

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string; param: string | null; message: string }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!isPalisadeError(error)) throw new Error(`expected a PalisadeError, got ${String(error)}`);
  return { status: error.status, code: error.code, param: error.param, message: error.message };
}

describe("readJsonBody", () => {
  it("parses a JSON body", async () => {
    expect(await readJsonBody(post('{"model":"m","messages":[{"role":"user","content":"h\\u00e9 ☃"}]}'), 1024)).toEqual({ model: "m", messages: [{ role: "user", content: "hé ☃" }] });
  });

  it.each(["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", "application/vnd.palisade+json"])("accepts content type %s", async (contentType) => {
    expect(await readJsonBody(post("[1]", { "content-type": contentType }), 1024)).toEqual([1]);
  });

  it.each([["text/plain"], ["application/jsonx"], ["multipart/form-data"], [""]])("refuses content type %j with 415", async (contentType) => {
    const headers: Record<string, string> = contentType === "" ? {} : { "content-type": contentType };
    const error = await refusal(readJsonBody(post('{"a":1}', headers), 1024));
    expect([error.status, error.code, error.param]).toEqual([415, "unsupported_media_type", "content-type"]);
  });

  it("skips a leading UTF-8 byte order mark, as bytes and as a string", async () => {
    const bom = Uint8Array.from([0xef, 0xbb, 0xbf, ...Buffer.from('{"a":1}')]);
    expect(await readJsonBody(post(bom, { "content-type": "application/json", "content-length": String(bom.byteLength) }), 1024)).toEqual({ a: 1 });
    expect(await readJsonBody(post('\ufeff{"a":2}'), 1024)).toEqual({ a: 2 });
  });

  it.each(["gzip", "br", "deflate"])("refuses Content-Encoding: %s with a 415 that names it (not 'not valid JSON')", async (encoding) => {
    const error = await refusal(readJsonBody(post('{"a":1}', { "content-type": "application/json", "content-encoding": encoding }), 1024));
    expect([error.status, error.code, error.param]).toEqual([415, "unsupported_media_type", "content-encoding"]);
    expect(error.message).toContain(encoding);
  });

  it("accepts Content-Encoding: identity", async () => {
    expect(await readJsonBody(post("[3]", { "content-type": "application/json", "content-encoding": "identity" }), 1024)).toEqual([3]);
  });

  it("refuses with 413 on the declared length, before reading", async () => {
    const error = await refusal(readJsonBody(post('{"a":1}', { "content-type": "application/json", "content-length": "2048" }), 1024));
    expect([error.status, error.code]).toEqual([413, "request_too_large"]);
    expect(error.message).toContain("1024");
  });

  it("refuses with 413 on the bytes actually read, whatever the declared length says", async () => {
    const big = JSON.stringify({ text: "x".repeat(2000) });
    const undeclared = await refusal(readJsonBody(post(big), 1024));
    expect([undeclared.status, undeclared.code]).toEqual([413, "request_too_large"]);
    const understated = await refusal(readJsonBody(post(big, { "content-type": "application/json", "content-length": "10" }), 1024));
    expect(understated.status).toBe(413);
  });

  it("counts bytes, not characters", async () => {
    const text = JSON.stringify({ t: "é".repeat(600) });
    expect(text.length).toBeLessThan(1024);
    expect((await refusal(readJsonBody(post(new TextEncoder().encode(text)), 1024))).status).toBe(413);
    expect(await readJsonBody(post(new TextEncoder().encode(text)), 2048)).toEqual({ t: "é".repeat(600) });
  });

  it("accepts a body of exactly the limit", async () => {
    const body = `"${"a".repeat(1022)}"`;
    expect(body).toHaveLength(1024);
    expect(await readJsonBody(post(body), 1024)).toBe("a".repeat(1022));
  });

  it.each([
    ["empty", undefined],
    ["empty string", ""],
    ["whitespace", "  \n "],
  ])("refuses an %s body with 400 invalid_json", async (_label, body) => {
    const error = await refusal(readJsonBody(post(body), 1024));
    expect([error.status, error.code]).toEqual([400, "invalid_json"]);
    expect(error.message).toMatch(/empty/);
  });

  it("refuses JSON that does not parse with 400 invalid_json, without echoing it", async () => {
    const error = await refusal(readJsonBody(post('{"secret": "hunter2-SECRET",'), 1024));
    expect([error.status, error.code]).toEqual([400, "invalid_json"]);
    expect(error.message).not.toContain("hunter2");
  });

  it.each([
    ["a declared length", { "content-type": "application/json", "content-length": "64" }],
    ["no declared length", { "content-type": "application/json" }],
  ])("refuses a body cut off mid-way with 400 invalid_request, with %s", async (_label, headers) => {
    const cutOff = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"model":'));
        controller.error(new Error("aborted"));
      },
    });
    const nativeRequest = new Request("http://127.0.0.1:7071/api/v1/chat/completions", { method: "POST", headers, body: cutOff, duplex: "half" } as RequestInit);
    const request = new HttpRequest({ method: "POST", url: nativeRequest.url, nativeRequest } as ConstructorParameters<typeof HttpRequest>[0]);
    const error = await refusal(readJsonBody(request, 1024));
    expect([error.status, error.code]).toEqual([400, "invalid_request"]);
    expect(error.message).toMatch(/cut/);
  });
});

describe("readJsonBody: nesting depth", () => {
  const nested = (levels: number, open: string, close: string): string => `${open.repeat(levels)}${close.repeat(levels)}`;
  const objects = (levels: number): string => `${'{"a":'.repeat(levels - 1)}{}${"}".repeat(levels - 1)}`;

  it.each([
    ["arrays", (levels: number) => nested(levels, "[", "]")],
    ["objects", objects],
    ["objects under a __proto__ key", (levels: number) => `{"__proto__":${objects(levels - 1)}}`],
    ["arrays after a flat sibling", (levels: number) => `[1,"x",{"b":null},${nested(levels - 1, "[", "]")}]`],
  ])("accepts %s 64 levels deep and refuses them 65 levels deep", async (_label, body) => {
    expect(await readJsonBody(post(body(64)), 1_000_000)).toBeDefined();
    const error = await refusal(readJsonBody(post(body(65)), 1_000_000));
    expect([error.status, error.code, error.message]).toEqual([400, "invalid_request", "The request body is nested more than 64 levels deep."]);
  });

  it("refuses nesting 100,000 levels deep without overflowing the stack", async () => {
    const error = await refusal(readJsonBody(post(nested(100_000, "[", "]")), 1_000_000));
    expect(error.status).toBe(400);
  });
});
