import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scan, StreamingInspector } from "../src/core/dlp/index.js";
import { ENTITY_TYPES, type EntityType } from "../src/core/dlp/types.js";
import { denseDocument, proseDocument } from "./dlpDocuments.js";

/** One labelled case of the corpus in test/fixtures/dlp. */
export interface CorpusCase {
  readonly text: string;
  readonly entities: readonly { readonly type: EntityType; readonly value: string }[];
}

export interface EntityQuality {
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
}

export function loadDlpCorpus(root: string = process.cwd()): CorpusCase[] {
  return readFileSync(join(root, "test/fixtures/dlp/corpus.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as CorpusCase);
}

/** A finding counts as a hit when it has the label's type and overlaps the label's first occurrence. */
export function measureQuality(corpus: readonly CorpusCase[]): Record<EntityType, EntityQuality> {
  const counts = Object.fromEntries(ENTITY_TYPES.map((t) => [t, { truePositives: 0, falsePositives: 0, falseNegatives: 0 }])) as Record<
    EntityType,
    { truePositives: number; falsePositives: number; falseNegatives: number }
  >;
  for (const item of corpus) {
    const labels = item.entities.map((e) => {
      const start = item.text.indexOf(e.value);
      return { type: e.type, start, end: start + e.value.length, hit: false };
    });
    for (const finding of scan(item.text)) {
      const label = labels.find((l) => l.type === finding.type && finding.start < l.end && l.start < finding.end);
      if (label === undefined) counts[finding.type].falsePositives += 1;
      else if (!label.hit) {
        label.hit = true;
        counts[finding.type].truePositives += 1;
      }
    }
    for (const label of labels) if (!label.hit) counts[label.type].falseNegatives += 1;
  }
  return counts;
}

/**
 * Prose, code and numbers (dates, versions, order ids, prices), with a corpus case (a sensitive value or
 * a hard negative) every `corpusEvery` segments. Every document is a different stretch of the sequence.
 */
function makeDocument(corpus: readonly CorpusCase[], sizeInChars: number, seed: number, corpusEvery: number): string {
  const prose = [
    "The quarterly review covers revenue, churn and the roadmap for the next two releases.",
    "On 2024-03-14 at 09:30 the team shipped version 2.4.1 to 35% of tenants.",
    "Please summarise the attached meeting notes and list the action items by owner.",
    "Das Projekt wurde am 15.01.2024 gestartet; Budget 120.000 EUR, Laufzeit 18 Monate.",
    "function total(items) { return items.reduce((sum, item) => sum + item.price * item.qty, 0); }",
    "Order 112-4567890-1234567 was delayed; the customer asked for a refund of $49.99.",
    "Latency p99 rose from 180 ms to 240 ms after the deploy of commit 9fceb02.",
  ];
  const parts: string[] = [];
  let size = 0;
  let i = seed;
  while (size < sizeInChars) {
    const piece = i % corpusEvery === 0 ? (corpus[(i / corpusEvery) % corpus.length]?.text ?? "") : (prose[i % prose.length] ?? "");
    parts.push(piece);
    size += piece.length + 1;
    i += 1;
  }
  // Through JSON, as a request body arrives: a flat string, not a slice of a bigger one.
  return JSON.parse(JSON.stringify(parts.join(" ").slice(0, sizeInChars))) as string;
}

function throughput(docs: readonly string[], minDurationInMs: number): { mbPerSecond: number; mbPerCpuSecond: number; perDocMs: number[] } {
  const bytes = docs.reduce((sum, d) => sum + Buffer.byteLength(d), 0);
  // Warm up until the regular expressions and validators are compiled to native code: for a time AND for
  // at least 4 MB, because on a busy machine the optimising compiler's background threads get little CPU
  // and 150 ms measured mostly unoptimised code on the 64 KB documents (a third of the steady rate).
  const warmUntil = performance.now() + Math.min(500, minDurationInMs / 2);
  for (let warmed = 0; performance.now() < warmUntil || warmed < 4e6; warmed += bytes) for (const d of docs) scan(d);
  const perDocMs: number[] = [];
  let processed = 0;
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < minDurationInMs) {
    for (const d of docs) {
      const t0 = performance.now();
      scan(d);
      perDocMs.push(performance.now() - t0);
    }
    processed += bytes;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { mbPerSecond: processed / 1e6 / seconds, mbPerCpuSecond: processed / 1e6 / cpuSeconds, perDocMs };
}

/**
 * A completion streamed through StreamingInspector (action "redact") in chunks of `chunkChars`, as an
 * upstream's deltas arrive (one token is about four characters): throughput per CPU-second, and the
 * hold-back after each push (characters pushed but not yet released), on average and at most.
 */
function streamThroughput(docs: readonly string[], chunkChars: number, minDurationInMs: number, minScanChars = 0): { mbPerCpuSecond: number; meanHoldBack: number; maxHoldBack: number } {
  let holdBackSum = 0;
  let holdBackMax = 0;
  let pushes = 0;
  const streamOne = (doc: string, measureHoldBack: boolean): void => {
    const inspector = new StreamingInspector({ action: "redact", minScanChars });
    for (let at = 0; at < doc.length; at += chunkChars) {
      inspector.push(doc.slice(at, at + chunkChars));
      if (measureHoldBack) {
        const held = inspector.heldBackChars;
        holdBackSum += held;
        holdBackMax = Math.max(holdBackMax, held);
        pushes += 1;
      }
    }
    inspector.end();
  };
  const bytes = docs.reduce((sum, d) => sum + Buffer.byteLength(d), 0);
  const warmUntil = performance.now() + Math.min(500, minDurationInMs / 2);
  for (let warmed = 0; performance.now() < warmUntil || warmed < 1e6; warmed += bytes) for (const d of docs) streamOne(d, false);
  let processed = 0;
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < minDurationInMs) {
    for (const d of docs) streamOne(d, false);
    processed += bytes;
  }
  const cpu = process.cpuUsage(cpuStarted);
  for (const d of docs) streamOne(d, true);
  return { mbPerCpuSecond: processed / 1e6 / ((cpu.user + cpu.system) / 1e6), meanHoldBack: holdBackSum / Math.max(1, pushes), maxHoldBack: holdBackMax };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function runDlpBench(options: { quick: boolean }): Promise<Record<string, number>> {
  const corpus = loadDlpCorpus();
  const duration = options.quick ? 300 : 3000;
  // One corpus case every 20 segments: about one sensitive-looking value per 2 KB, denser than real prompts.
  const prompts = Array.from({ length: 64 }, (_, i) => makeDocument(corpus, 4096, i * 48, 20));
  const documents = Array.from({ length: 4 }, (_, i) => makeDocument(corpus, 65536, i * 760, 20));
  // And every 5 segments (one per ~500 characters), to show the cost of validating many candidates.
  const densePrompts = Array.from({ length: 64 }, (_, i) => makeDocument(corpus, 4096, i * 48, 5));
  // Every line carries a finding (docs/dlp.md "dense text"), and ordinary prose: 64 KB documents of each.
  const denseLines = Array.from({ length: 4 }, (_, i) => denseDocument(65536, 1000 + i));
  const prose = Array.from({ length: 4 }, (_, i) => proseDocument(65536, 2000 + i));
  const denseLines4k = Array.from({ length: 64 }, (_, i) => denseDocument(4096, 3000 + i));
  const small = throughput(prompts, duration);
  const large = throughput(documents, duration);
  const dense = throughput(densePrompts, duration);
  const denseText = throughput(denseLines, duration);
  const denseText4k = throughput(denseLines4k, duration);
  const proseText = throughput(prose, duration);
  // Completions of 4 KB streamed in deltas of 4 characters (one token an event) and of 32 (batched deltas).
  const proseCompletions = Array.from({ length: 8 }, (_, i) => proseDocument(4096, 4000 + i));
  const denseCompletions = Array.from({ length: 8 }, (_, i) => denseDocument(4096, 5000 + i));
  const streamProse4 = streamThroughput(proseCompletions, 4, duration);
  const streamDense4 = streamThroughput(denseCompletions, 4, duration);
  const streamProse32 = streamThroughput(proseCompletions, 32, duration);
  const streamDense32 = streamThroughput(denseCompletions, 32, duration);
  // The same 4-character deltas, scanned once at least 16 characters have come (StreamingInspector's minScanChars).
  const streamProse4Scan16 = streamThroughput(proseCompletions, 4, duration, 16);
  const streamDense4Scan16 = streamThroughput(denseCompletions, 4, duration, 16);
  const result: Record<string, number> = {
    mbPerSecond: small.mbPerSecond,
    mbPerSecond4k: small.mbPerSecond,
    mbPerSecond64k: large.mbPerSecond,
    p99Ms4k: percentile(small.perDocMs, 99),
    // Per CPU-second: what one core does, even when other work shares the machine.
    cpuMbPerSecond4k: small.mbPerCpuSecond,
    cpuMbPerSecond64k: large.mbPerCpuSecond,
    mbPerSecondDense4k: dense.mbPerSecond,
    cpuMbPerSecondDense4k: dense.mbPerCpuSecond,
    cpuMbPerSecondDenseLines: denseText.mbPerCpuSecond,
    cpuMbPerSecondDenseLines4k: denseText4k.mbPerCpuSecond,
    p99MsDenseLines4k: percentile(denseText4k.perDocMs, 99),
    cpuMbPerSecondProse: proseText.mbPerCpuSecond,
    streamCpuMbPerSecondProse4: streamProse4.mbPerCpuSecond,
    streamCpuMbPerSecondDense4: streamDense4.mbPerCpuSecond,
    streamCpuMbPerSecondProse32: streamProse32.mbPerCpuSecond,
    streamCpuMbPerSecondDense32: streamDense32.mbPerCpuSecond,
    streamHoldBackMeanCharsProse4: streamProse4.meanHoldBack,
    streamHoldBackMaxCharsProse4: streamProse4.maxHoldBack,
    streamHoldBackMeanCharsDense4: streamDense4.meanHoldBack,
    streamHoldBackMaxCharsDense4: streamDense4.maxHoldBack,
    streamCpuMbPerSecondProse4Scan16: streamProse4Scan16.mbPerCpuSecond,
    streamCpuMbPerSecondDense4Scan16: streamDense4Scan16.mbPerCpuSecond,
    streamHoldBackMeanCharsProse4Scan16: streamProse4Scan16.meanHoldBack,
    streamHoldBackMeanCharsDense4Scan16: streamDense4Scan16.meanHoldBack,
    streamHoldBackMaxCharsProse4Scan16: streamProse4Scan16.maxHoldBack,
    streamHoldBackMaxCharsDense4Scan16: streamDense4Scan16.maxHoldBack,
  };
  const quality = measureQuality(corpus);
  const total = { truePositives: 0, falsePositives: 0, falseNegatives: 0 };
  for (const type of ENTITY_TYPES) {
    total.truePositives += quality[type].truePositives;
    total.falsePositives += quality[type].falsePositives;
    total.falseNegatives += quality[type].falseNegatives;
  }
  result["precision.overall"] = total.truePositives / Math.max(1, total.truePositives + total.falsePositives);
  result["recall.overall"] = total.truePositives / Math.max(1, total.truePositives + total.falseNegatives);
  result["corpus.cases"] = corpus.length;
  result["corpus.labels"] = total.truePositives + total.falseNegatives;
  for (const type of ENTITY_TYPES) {
    const q = quality[type];
    const precision = q.truePositives + q.falsePositives === 0 ? 1 : q.truePositives / (q.truePositives + q.falsePositives);
    const recall = q.truePositives + q.falseNegatives === 0 ? 1 : q.truePositives / (q.truePositives + q.falseNegatives);
    const f2 = precision + recall === 0 ? 0 : (5 * precision * recall) / (4 * precision + recall);
    result[`precision.${type}`] = precision;
    result[`recall.${type}`] = recall;
    result[`f2.${type}`] = f2;
  }
  return result;
}
