import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fileTextOf, inlineData } from "../../../src/core/gateway/pipeline/inlineData.js";

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

describe("fileTextOf and encode: a text file in the encodings text files come in, written back in the same one", () => {
  const text = "Kreditkarte für Jürgen: 4539 1488 0343 6467";
  const forms: readonly [string, Buffer][] = [
    ["utf8", Buffer.from(text, "utf8")],
    ["utf16le", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")])],
    ["utf16be", Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, "utf16le").swap16()])],
    ["latin1", Buffer.from(text, "latin1")],
  ];

  it.each(forms)("%s: read, and a redaction written back in the same encoding (base64 and percent-encoded data URLs)", (charset, bytes) => {
    expect(fileTextOf(bytes)).toEqual({ text, charset });
    const redacted = "Kreditkarte für Jürgen: [CREDIT_CARD_1]";
    for (const value of [`data:text/plain;base64,${bytes.toString("base64")}`, `data:text/plain,${Array.from(bytes, (byte) => `%${byte.toString(16).padStart(2, "0")}`).join("")}`, bytes.toString("base64")]) {
      const data = inlineData(value, { bareBase64: true });
      expect(fileTextOf(data?.bytes() ?? new Uint8Array())?.text).toBe(text);
      const written = inlineData(data?.encode(redacted, charset as "utf8") ?? "", { bareBase64: true });
      expect(fileTextOf(written?.bytes() ?? new Uint8Array())).toEqual({ text: redacted, charset });
    }
  });

  it("binary (control bytes, as in images and compressed streams) is not text", () => {
    expect(fileTextOf(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]))).toBeNull();
    expect(fileTextOf(Uint8Array.from([0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15]))).toBeNull();
  });
});
