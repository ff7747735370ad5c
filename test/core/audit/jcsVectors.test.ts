import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../../src/core/audit/ChainEntry.js";

/**
 * Issue 18 item 12: the public RFC 8785 (JCS) vectors, read where they are (`../shared/vectors` beside
 * the repository; see its SOURCES.md), run through the canonicaliser the audit chain hashes with:
 * cyberphone/json-canonicalization's input -> output files (and their hex bytes) and RFC 8785
 * Appendix B's number samples (NaN and the infinities must be refused).
 */

const VECTORS = join(import.meta.dirname, "..", "..", "..", "..", "shared", "vectors", "jcs");
const CYBERPHONE = join(VECTORS, "cyberphone", "testdata");

describe("RFC 8785 vectors, from ../shared/vectors", () => {
  it("canonicalises every cyberphone input to the expected output, byte for byte", () => {
    const names = readdirSync(join(CYBERPHONE, "input")).filter((name) => name.endsWith(".json")).sort();
    let checked = 0;
    for (const name of names) {
      const canonical = canonicalJson(JSON.parse(readFileSync(join(CYBERPHONE, "input", name), "utf8")));
      const expected = readFileSync(join(CYBERPHONE, "output", name), "utf8");
      expect(canonical, name).toBe(expected);
      const hex = readFileSync(join(CYBERPHONE, "outhex", name.replace(/\.json$/, ".txt")), "utf8").trim().split(/\s+/).join("");
      expect(Buffer.from(canonical, "utf8").toString("hex"), `${name} (outhex)`).toBe(hex);
      checked += 2;
    }
    process.stderr.write(`jcs vectors: ${names.length} cyberphone files, ${checked} checks\n`);
    expect(names).toHaveLength(6);
  });

  it("serialises every RFC 8785 Appendix B number sample, and refuses NaN and the infinities", () => {
    const { samples } = JSON.parse(readFileSync(join(VECTORS, "rfc8785-appendix-b.json"), "utf8")) as { samples: [string, string | null][] };
    for (const [bits, expected] of samples) {
      const value = Buffer.from(bits, "hex").readDoubleBE(0);
      if (expected === null) expect(() => canonicalJson(value), bits).toThrow();
      else expect(canonicalJson(value), bits).toBe(expected);
    }
    process.stderr.write(`jcs vectors: ${samples.length} Appendix B samples\n`);
    expect(samples).toHaveLength(27);
  });
});
