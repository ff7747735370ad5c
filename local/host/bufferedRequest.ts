import { ReadableStream } from "node:stream/web";

/** The parts of a fetch `Request` that `@azure/functions`' HttpRequest reads and delegates to. */
export type RequestSurface = Pick<Request, "method" | "url" | "headers" | "body" | "bodyUsed" | "arrayBuffer" | "blob" | "formData" | "json" | "text" | "clone">;

const utf8 = new TextDecoder();

/**
 * The fetch `Request` under the function's `HttpRequest` for a body read whole (or none), as fetch's
 * Request behaves (one read of the body, a leading BOM dropped by text(), "Body is unusable" after),
 * without what a `new Request` costs on every call: URL parsing, an abort signal, a copy of the body
 * and a stream over it (~27 µs of CPU, the most expensive step of the HTTP adaptation). The body
 * stream is made only when the function asks for it.
 */
export class BufferedRequest implements RequestSurface {
  #stream: ReadableStream<Uint8Array> | null = null;
  #used = false;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Headers,
    private readonly bytes: Buffer | null,
  ) {}

  get body(): Request["body"] {
    const bytes = this.bytes;
    if (bytes === null) return null;
    this.#stream ??= new ReadableStream<Uint8Array>(
      {
        // Pulled only when read (high-water mark 0), so bodyUsed turns true when fetch's would.
        pull: (controller) => {
          this.#used = true;
          controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          controller.close();
        },
        cancel: () => {
          this.#used = true;
        },
      },
      { highWaterMark: 0 },
    );
    return this.#stream as unknown as Request["body"];
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#consume();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return utf8.decode(this.#consume());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async blob(): Promise<Blob> {
    return new Blob([new Uint8Array(this.#consume())], { type: this.headers.get("content-type") ?? "" });
  }

  async formData(): Promise<FormData> {
    return new Response(new Uint8Array(this.#consume()), { headers: this.headers }).formData();
  }

  clone(): Request {
    if (this.#used || this.#stream?.locked) throw new TypeError("Response.clone: Body has already been consumed.");
    return new BufferedRequest(this.method, this.url, new Headers(this.headers), this.bytes === null ? null : Buffer.from(this.bytes)) as unknown as Request;
  }

  /** The body's bytes, once, as fetch allows: a second read (or a read after the stream) fails. */
  #consume(): Buffer {
    // No body reads as empty, as often as asked, and never counts as used.
    if (this.bytes === null) return Buffer.alloc(0);
    if (this.#used || this.#stream?.locked) throw new TypeError("Body is unusable: Body has already been read");
    this.#used = true;
    return this.bytes;
  }
}
