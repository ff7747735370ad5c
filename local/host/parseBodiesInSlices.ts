/**
 * Message bodies as the Functions worker hands them to a function: UTF-8 bytes of JSON parsed, other
 * bytes as text, anything else as the SDK decoded it.
 */
export function bodyOf(body: unknown): unknown {
  if (body instanceof Uint8Array) {
    // A view on the SDK's bytes, not a copy of them.
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return body;
}

/** Bytes of bodies parsed between two turns of the event loop: ~0.1-0.5 ms of JSON.parse. */
export const PARSE_SLICE_BYTES = 64 * 1024;

/**
 * The bodies of a batch (bodyOf each), parsed with a turn of the event loop after every
 * PARSE_SLICE_BYTES: a batch of 100 packed messages (up to 64 KB each) is megabytes of JSON (100 of
 * 42 KB, 60 events each: 27-140 ms in one turn, measured) in an instance that also serves HTTP. A
 * body larger than a slice is parsed alone.
 */
export async function parseBodiesInSlices(bodies: readonly unknown[]): Promise<unknown[]> {
  const parsed: unknown[] = [];
  let bytes = 0;
  for (const body of bodies) {
    if (bytes >= PARSE_SLICE_BYTES) {
      await new Promise((resolve) => setImmediate(resolve));
      bytes = 0;
    }
    parsed.push(bodyOf(body));
    if (body instanceof Uint8Array) bytes += body.byteLength;
  }
  return parsed;
}
