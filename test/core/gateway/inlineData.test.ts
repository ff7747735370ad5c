import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inlineData } from "../../../src/core/gateway/pipeline/inlineData.js";

describe("inlineData's head: the first bytes without decoding the rest", () => {
  it("equals the start of the whole decoding, for base64 and percent-encoded data URLs and bare base64", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (bytes, count) => {
        const base64 = Buffer.from(bytes).toString("base64");
        const forms = [
          inlineData(`data:image/png;base64,${base64}`, { bareBase64: false }),
          inlineData(base64, { bareBase64: true }),
          inlineData(`data:application/octet-stream,${[...bytes].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("")}`, { bareBase64: false }),
        ];
        for (const data of forms) {
          expect(data).not.toBeNull();
          expect(Array.from(data?.head(count) ?? [])).toEqual(Array.from(data?.bytes() ?? []).slice(0, count));
        }
      }),
      { numRuns: 300 },
    );
  });
});
