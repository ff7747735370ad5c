import { describe, expect, it } from "vitest";
import { bodyOf, PARSE_SLICE_BYTES, parseBodiesInSlices } from "../../../local/host/parseBodiesInSlices.js";
import { loopTurnsDuring } from "../../support/loopTurns.js";

/** A JSON body of about `bytes` UTF-8 bytes. */
const jsonBody = (index: number, bytes: number): Uint8Array => Buffer.from(JSON.stringify({ index, padding: "p".repeat(bytes) }), "utf8");

describe("parseBodiesInSlices (the local host's Service Bus trigger)", () => {
  it("hands over each body as the worker does: JSON bytes parsed, other bytes as text, anything else as is, in order", async () => {
    const shared = Buffer.from(`xx${JSON.stringify({ a: "é" })}yy`, "utf8");
    const view = new Uint8Array(shared.buffer, shared.byteOffset + 2, shared.byteLength - 4);
    const bodies = await parseBodiesInSlices([Buffer.from('{"a":1}'), Buffer.from("not json"), view, { b: 2 }, "text"]);
    expect(bodies).toEqual([{ a: 1 }, "not json", { a: "é" }, { b: 2 }, "text"]);
    expect(bodyOf(view)).toEqual({ a: "é" });
  });

  it("lets the event loop turn after every slice of bytes: a batch of 100 bodies of 16 KB is not parsed in one turn", async () => {
    const batch = Array.from({ length: 100 }, (_, i) => jsonBody(i, 16 * 1024));
    const { result: bodies, turns } = await loopTurnsDuring(() => parseBodiesInSlices(batch));
    expect(bodies.map((body) => (body as { index: number }).index)).toEqual(batch.map((_, i) => i));
    // 1.6 MB in slices of 64 KB: about 25 turns.
    expect(PARSE_SLICE_BYTES).toBe(64 * 1024);
    expect(turns).toBeGreaterThanOrEqual(20);
  });
});
