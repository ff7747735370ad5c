import { describe, expect, it } from "vitest";
import { ENTITY_TYPES } from "../../../src/core/dlp/index.js";
import { loadDlpCorpus, measureQuality } from "../../../bench/dlp.js";

const corpus = loadDlpCorpus();

describe("DLP quality on the labelled corpus (test/fixtures/dlp/corpus.jsonl)", () => {
  it("has at least 300 cases, positives of every type and hard negatives", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    for (const type of ENTITY_TYPES) expect(corpus.some((c) => c.entities.some((e) => e.type === type))).toBe(true);
    expect(corpus.filter((c) => c.entities.length === 0).length).toBeGreaterThanOrEqual(80);
    for (const c of corpus) for (const e of c.entities) expect(c.text).toContain(e.value);
  });

  const quality = measureQuality(corpus);
  it.each(ENTITY_TYPES.map((t) => [t]))("%s: precision and recall are at least 0.95", (type) => {
    const q = quality[type];
    const precision = q.truePositives / Math.max(1, q.truePositives + q.falsePositives);
    const recall = q.truePositives / Math.max(1, q.truePositives + q.falseNegatives);
    expect(q.truePositives).toBeGreaterThan(0);
    expect(precision).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.95);
  });
});
