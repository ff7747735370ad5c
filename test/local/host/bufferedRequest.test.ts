import { HttpRequest } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { BufferedRequest } from "../../../local/host/bufferedRequest.js";

const URL_ = "http://127.0.0.1:7071/api/v1/chat/completions?a=1";
const HEADERS = { "content-type": "application/json", authorization: "Bearer x" };

/** The library's own request (over a fetch Request) and the host's (over a BufferedRequest), for the same body. */
function pair(bytes: Buffer | null): { library: HttpRequest; host: HttpRequest } {
  const library = new HttpRequest({ method: "POST", url: URL_, headers: HEADERS, query: { a: "1" }, ...(bytes && bytes.byteLength > 0 ? { body: { bytes } } : {}) });
  const init = { method: "POST", url: URL_, query: { a: "1" }, nativeRequest: new BufferedRequest("POST", URL_, new Headers(HEADERS), bytes && bytes.byteLength > 0 ? bytes : null) };
  return { library, host: new HttpRequest(init) };
}

function pairsOf(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return pairs;
}

async function outcome(read: () => Promise<unknown>): Promise<unknown> {
  try {
    const value = await read();
    return { value: value instanceof ArrayBuffer ? [...new Uint8Array(value)] : value };
  } catch (error) {
    return { error: error instanceof Error ? error.name : String(error) };
  }
}

async function streamed(request: HttpRequest): Promise<number[] | null> {
  if (!request.body) return null;
  const bytes: number[] = [];
  for await (const chunk of request.body) bytes.push(...chunk);
  return bytes;
}

const BODIES: [string, Buffer | null][] = [
  ["JSON", Buffer.from('{"model":"m","messages":[{"role":"user","content":"hé ☃"}]}')],
  ["a leading byte-order mark", Buffer.from("\uFEFF[1]", "utf8")],
  ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
  ["no body", null],
];

describe("local host: the request over a BufferedRequest behaves as the library's own", () => {
  it("is the real @azure/functions HttpRequest, with the same URL, method, headers and query", () => {
    const { library, host } = pair(Buffer.from("{}"));
    expect(host).toBeInstanceOf(HttpRequest);
    expect([host.url, host.method, pairsOf(host.headers), [...host.query.entries()], host.params]).toEqual([library.url, library.method, pairsOf(library.headers), [...library.query.entries()], library.params]);
  });

  it.each(BODIES)("reads %s the same way with text(), json(), arrayBuffer() and the body stream", async (_label, bytes) => {
    for (const read of [(r: HttpRequest) => r.text(), (r: HttpRequest) => r.json(), (r: HttpRequest) => r.arrayBuffer(), streamed]) {
      const { library, host } = pair(bytes);
      expect(await outcome(() => read(host))).toEqual(await outcome(() => read(library)));
      expect(host.bodyUsed).toBe(library.bodyUsed);
    }
  });

  it("refuses a second read, and a read after the stream, as fetch does", async () => {
    const { library, host } = pair(Buffer.from("[1]"));
    for (const request of [library, host]) {
      expect(request.bodyUsed).toBe(false);
      await request.text();
      expect(request.bodyUsed).toBe(true);
      await expect(request.text()).rejects.toBeInstanceOf(TypeError);
    }
    const afterStream = pair(Buffer.from("[1]"));
    for (const request of [afterStream.library, afterStream.host]) {
      await streamed(request);
      await expect(request.arrayBuffer()).rejects.toBeInstanceOf(TypeError);
    }
  });

  it("clones an unread request into one with the same body; an already read one cannot be cloned", async () => {
    const { library, host } = pair(Buffer.from('{"a":1}'));
    const [libraryClone, hostClone] = [library.clone(), host.clone()];
    expect(hostClone).toBeInstanceOf(HttpRequest);
    expect([await hostClone.json(), await host.json()]).toEqual([await libraryClone.json(), await library.json()]);
    expect(() => host.clone()).toThrow(TypeError);
    expect(() => library.clone()).toThrow(TypeError);
  });
});

describe("local host: a request without a body", () => {
  it("reads as empty as often as asked and is never used, as fetch's", async () => {
    const { library, host } = pair(null);
    for (const request of [library, host]) {
      expect([await request.text(), await request.text(), request.bodyUsed, request.body]).toEqual(["", "", false, null]);
      expect(request.clone()).toBeInstanceOf(HttpRequest);
    }
  });
});
