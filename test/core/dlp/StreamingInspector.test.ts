import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redact, scan, StreamingInspector, type StreamingInspectorOptions } from "../../../src/core/dlp/index.js";
import { loadDlpCorpus } from "../../../bench/dlp.js";

function stream(chunks: readonly string[], options: StreamingInspectorOptions): { output: string; blocked: boolean; inspector: StreamingInspector } {
  const inspector = new StreamingInspector(options);
  let output = "";
  let blocked = false;
  for (const chunk of chunks) {
    const verdict = inspector.push(chunk);
    output += verdict.release;
    blocked ||= verdict.blocked;
  }
  const last = inspector.end();
  return { output: output + last.release, blocked: blocked || last.blocked, inspector };
}

function chunk(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(text.slice(from, point));
    from = point;
  }
  chunks.push(text.slice(from));
  return chunks;
}

const corpus = loadDlpCorpus();

describe("StreamingInspector", () => {
  it("catches a value split across chunks", () => {
    const { output, inspector } = stream(["Your card is 4111 11", "11 1111 ", "1111, thanks"], { action: "redact" });
    expect(output).toBe("Your card is [CREDIT_CARD_1], thanks");
    expect(inspector.counts).toEqual({ CREDIT_CARD: 1 });
  });

  it("releases text that cannot be part of a finding at once and holds back only the tail", () => {
    const inspector = new StreamingInspector({ action: "redact" });
    expect(inspector.push("Hello there, how are you doing today?\n").release).toBe("Hello there, how are you doing today?\n");
    const partial = inspector.push("My number is 4111 1111");
    expect(partial.release).toBe("My number ");
    expect(inspector.push(" 1111 1111.\n").release).toBe("is [CREDIT_CARD_1].\n");
  });

  it("blocks on the first finding and releases nothing after it", () => {
    const inspector = new StreamingInspector({ action: "block" });
    expect(inspector.push("fine text ").blocked).toBe(false);
    const verdict = inspector.push("AKIAZ7QDTR3VX5KWPM2L and more text after it");
    const end = inspector.end();
    expect(verdict.blocked || end.blocked).toBe(true);
    expect(verdict.release + end.release).not.toContain("AKIA");
    expect(inspector.push("more").blocked).toBe(true);
  });

  it("bounds the hold-back and still redacts a PEM block longer than it", () => {
    const body = Array.from({ length: 40 }, (_, i) => `${"QUJD".repeat(15)}${String(i).padStart(4, "0")}`).join("\n");
    const pem = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`;
    const text = `key:\n${pem}\ndone`;
    const chunks = chunk(text, Array.from({ length: 200 }, (_, i) => i * 13));
    const inspector = new StreamingInspector({ action: "redact", maxHoldBackChars: 256 });
    let output = "";
    for (const c of chunks) {
      output += inspector.push(c).release;
    }
    output += inspector.end().release;
    expect(output).toBe("key:\n[API_KEY_1]\ndone");
  });

  it("holds a private key block whose chunk ends right after its header, so the key lines are not released", () => {
    // Found by cutting every corpus case at every position: the body after the header went out as plain text.
    for (const item of corpus.filter((c) => c.text.includes("-----BEGIN"))) {
      const text = item.text;
      const afterHeader = text.indexOf("-----", text.indexOf("-----BEGIN") + 10) + 6;
      const expected = redact(text, scan(text)).text;
      expect(stream([text.slice(0, afterHeader), text.slice(afterHeader)], { action: "redact" }).output, text.slice(0, 60)).toBe(expected);
    }
  });

  it("gives the same output as whole-text redaction for any chunking of the corpus (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: corpus.length - 1 }), fc.array(fc.nat(), { maxLength: 12 }), (index, cuts) => {
        const text = corpus[index]!.text;
        const expected = redact(text, scan(text)).text;
        expect(stream(chunk(text, cuts), { action: "redact" }).output).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  it("scans the first push at once, then only once minScanChars characters have come since the last scan, releasing what one joined chunk would", () => {
    const batched = new StreamingInspector({ action: "redact", minScanChars: 32 });
    // The start of an answer is not delayed (time to first token): the first push scans as every push would.
    expect(batched.push("Hello there, how ").release).toBe("Hello there, ");
    expect(batched.push("are you? ").release).toBe("");
    expect(batched.push("My card is 4111 ").release).toBe("");
    expect(batched.heldBackChars).toBe(29);
    const everyPush = new StreamingInspector({ action: "redact" });
    everyPush.push("Hello there, how ");
    const joined = everyPush.push("are you? My card is 4111 1111 1111 1111 and that is all.").release;
    const released = batched.push("1111 1111 1111 and that is all.").release;
    expect(released).toBe(joined);
    expect("Hello there, " + released + batched.end().release).toBe("Hello there, how are you? My card is [CREDIT_CARD_1] and that is all.");
  });

  it("with minScanChars, scans at every push until the first characters are released (time to first token)", () => {
    const batched = new StreamingInspector({ action: "redact", minScanChars: 32 });
    const everyPush = new StreamingInspector({ action: "redact" });
    let first = "";
    for (const piece of ["This ", "is ", "a ", "mock ", "completion "]) {
      const expected = everyPush.push(piece).release;
      expect(batched.push(piece).release).toBe(expected);
      first = expected;
      if (first !== "") break;
    }
    expect(first).not.toBe("");
  });

  it("gives the same output, verdict and counts as whole-text scanning with any minScanChars and chunking (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: corpus.length - 1 }), fc.array(fc.nat(), { maxLength: 40 }), fc.integer({ min: 1, max: 96 }), (index, cuts, minScanChars) => {
        const text = corpus[index]!.text;
        const findings = scan(text);
        expect(stream(chunk(text, cuts), { action: "redact", minScanChars }).output).toBe(redact(text, findings).text);
        const { blocked, inspector } = stream(chunk(text, cuts), { action: "block", minScanChars });
        expect(blocked).toBe(findings.length > 0);
        if (!blocked) expect(inspector.counts).toEqual({});
      }),
      { numRuns: 400 },
    );
  });

  it("gives the same verdict and counts as whole-text scanning, chunk by chunk of one character", () => {
    for (const item of corpus.slice(0, 120)) {
      const findings = scan(item.text);
      const { blocked } = stream([...item.text], { action: "block" });
      expect(blocked).toBe(findings.length > 0);
      const { inspector, output } = stream([...item.text], { action: "allow" });
      expect(output).toBe(item.text);
      expect(inspector.counts).toEqual(Object.fromEntries(Object.entries(findings.reduce<Record<string, number>>((a, f) => ({ ...a, [f.type]: (a[f.type] ?? 0) + 1 }), {}))));
    }
  });
});
