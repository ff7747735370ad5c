import { describe, expect, it } from "vitest";
import { DETECTORS } from "../../../src/core/dlp/detectors.js";
import { scan } from "../../../src/core/dlp/index.js";

describe.each(DETECTORS.map((d) => [d.id, d] as const))("detector %s: its own samples", (_id, detector) => {
  it("has samples of both kinds", () => {
    expect(detector.samples.found.length).toBeGreaterThan(0);
    expect(detector.samples.ignored.length).toBeGreaterThan(0);
  });
  it.each(detector.samples.found.map((s) => [s.text, s] as const))("finds the value in %j", (_text, sample) => {
    const values = scan(sample.text)
      .filter((f) => f.type === sample.type)
      .map((f) => sample.text.slice(f.start, f.end));
    expect(values).toContain(sample.value);
  });
  it.each(detector.samples.ignored.map((t) => [t]))("finds nothing of its types in %j", (text) => {
    expect(scan(text).filter((f) => detector.types.includes(f.type))).toEqual([]);
  });
});
