import { describe, expect, it } from "vitest";
import { redact, scan, StreamingInspector } from "../../../src/core/dlp/index.js";
import { SECRET_RULES } from "../../../src/core/dlp/secrets/secretRules.js";
import { loadDlpCorpus } from "../../../bench/dlp.js";

function streamTwo(first: string, second: string): string {
  const inspector = new StreamingInspector({ action: "redact" });
  return inspector.push(first).release + inspector.push(second).release + inspector.end().release;
}

const corpus = loadDlpCorpus();

describe("StreamingInspector, every corpus case cut at every position into two chunks", () => {
  it("gives the same redaction as the one-shot scan for every cut", () => {
    const failing: string[] = [];
    for (const item of corpus) {
      const text = item.text;
      const expected = redact(text, scan(text)).text;
      for (let cut = 0; cut <= text.length; cut += 1) {
        if (streamTwo(text.slice(0, cut), text.slice(cut)) !== expected) {
          failing.push(`cut ${cut} of ${JSON.stringify(text.slice(0, 50))}`);
          break;
        }
      }
    }
    expect(failing).toEqual([]);
  });

  it("holds a wrapped IBAN whose first chunk ends right after the line break", () => {
    const text = "Pay to NL91 ABNA\n0417 1643 00 today.";
    const cut = text.indexOf("\n") + 1;
    const output = streamTwo(text.slice(0, cut), text.slice(cut));
    expect(output).toBe(redact(text, scan(text)).text);
    expect(output).not.toContain("ABNA");
  });

  it("holds a wrapped token whose chunk ends inside its second line", () => {
    const text = "oauth_token: ghp_u2HT8tPyNH0CvJ46\nK86W9jQG9uBm9O4z4SBf\n    user: ci";
    const cut = text.indexOf("\nK") + 2;
    const output = streamTwo(text.slice(0, cut), text.slice(cut));
    expect(output).toBe(redact(text, scan(text)).text);
    expect(output).not.toContain("ghp_");
  });

  it("holds a short wrapped token whose first line has no digit (`sk-ant-` then `api03-...`), for every rule's samples", () => {
    const leaks: string[] = [];
    let wrapped = 0;
    for (const rule of SECRET_RULES) {
      for (const sample of rule.samples.found) {
        const at = sample.text.indexOf(sample.secret);
        for (let k = 2; at !== -1 && k < sample.secret.length - 2; k += 1) {
          // Wrapped by a terminal after k characters of the secret; the stream's first chunk ends right after the break.
          const text = `${sample.text.slice(0, at + k)}\n${sample.text.slice(at + k)}`;
          const expected = redact(text, scan(text)).text;
          if (expected.includes(sample.secret.slice(0, k))) continue; // the scanner does not rejoin it here either
          wrapped += 1;
          const cut = at + k + 1;
          if (streamTwo(text.slice(0, cut), text.slice(cut)) !== expected) {
            leaks.push(`${rule.id}: ${JSON.stringify(text.slice(Math.max(0, cut - 12), cut))}`);
            break;
          }
        }
      }
    }
    expect(wrapped).toBeGreaterThan(1000);
    expect(leaks).toEqual([]);
  });

  it("releases at once a line that cannot start a wrapped value", () => {
    const inspector = new StreamingInspector({ action: "redact" });
    expect(inspector.push("Hello there\n").release).toBe("Hello there\n");
    expect(inspector.push("I have 3 cats\n").release).toBe("I have 3 cats\n");
    // A blank line between them: the detectors join a wrapped value over one break with at most two blanks.
    expect(inspector.push("Account NL91 ABNA\n \n\n").release).toBe("Account NL91 ABNA\n \n\n");
  });

  it("releases the line before once the next line's first word shows it does not continue a value", () => {
    const inspector = new StreamingInspector({ action: "redact" });
    expect(inspector.push("Reference: ORDER-2024-000042\n").release).toBe("Reference: ");
    // "Visa" is a finished word without a digit: no card or token goes on with it, so the order number goes out.
    expect(inspector.push("Visa 4111").release).toBe("ORDER-2024-000042\n");
    expect(inspector.push(" 1111 1111 1111 ok").release + inspector.end().release).toBe("Visa [CREDIT_CARD_1] ok");
  });

  it("keeps the hold-back bounded by maxHoldBackChars over many lines that may each continue a value", () => {
    const inspector = new StreamingInspector({ action: "redact", maxHoldBackChars: 128 });
    let pushed = 0;
    let released = 0;
    for (let i = 0; i < 200; i += 1) {
      const line = `ab${String(i % 90).padStart(2, "0")}x${i}\n`;
      pushed += line.length;
      released += inspector.push(line).release.length;
      expect(pushed - released).toBeLessThanOrEqual(128);
    }
    expect(pushed - released).toBeGreaterThan(0);
  });
});
