import { pathToFileURL } from "node:url";
import { loadDlpCorpus } from "../dlp.js";
import { denseDocument, proseDocument } from "../dlpDocuments.js";

/**
 * The DLP scan of this build against other builds, in ONE process, on the dlp bench's documents:
 *
 *   node dist/bench/support/dlpScanAb.js [ROUNDS] [OTHER_DIST ...]
 *
 * Each OTHER_DIST is another build's `dist` (e.g. a copy of it made before a change, with a
 * `node_modules` link and `package.json` beside it so its imports resolve). First every build must give
 * the same findings as this one on the bench's documents and every corpus text (exit code 1 and the first
 * text that differs otherwise); then rounds of each build are alternated (order reversed every round) and
 * the best and median CPU MB/s (`process.cpuUsage`, so GC counts) printed per document set: dense 64 KB,
 * dense 4 KB tickets, prose 64 KB. On a shared machine the best of many rounds is the figure to compare:
 * two identical builds differ by up to 10 % in single rounds under load.
 */

type Scan = (text: string) => unknown;

interface Build {
  readonly name: string;
  readonly scan: Scan;
}

async function buildAt(dist: string): Promise<Build> {
  const module = (await import(pathToFileURL(`${dist}/src/core/dlp/index.js`).href)) as { scan: Scan };
  return { name: dist, scan: module.scan };
}

function cpuSecondsOf(scan: Scan, docs: readonly string[], repeats: number): number {
  const before = process.cpuUsage();
  for (let r = 0; r < repeats; r += 1) for (const doc of docs) scan(doc);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 15);
  const here: Build = { name: "this build", scan: (await import("../../src/core/dlp/index.js")).scan };
  const builds = [here, ...(await Promise.all(process.argv.slice(3).map(buildAt)))];
  const sets: Record<string, string[]> = {
    dense: Array.from({ length: 4 }, (_, i) => denseDocument(65536, 1000 + i)),
    dense4k: Array.from({ length: 64 }, (_, i) => denseDocument(4096, 3000 + i)),
    prose: Array.from({ length: 4 }, (_, i) => proseDocument(65536, 2000 + i)),
  };
  const texts = [...Object.values(sets).flat(), ...loadDlpCorpus().map((c) => c.text)];
  const expected = texts.map((text) => JSON.stringify(here.scan(text)));
  for (const build of builds.slice(1)) {
    const differing = texts.findIndex((text, i) => JSON.stringify(build.scan(text)) !== expected[i]);
    if (differing !== -1) {
      console.error(`${build.name}: findings differ from this build's on text ${differing}`);
      process.exit(1);
    }
  }
  console.log(`same findings on all ${texts.length} texts (bench documents and corpus)`);
  const bytes = (docs: readonly string[]): number => docs.reduce((sum, doc) => sum + Buffer.byteLength(doc), 0);
  for (let warm = 0; warm < 3; warm += 1) for (const build of builds) for (const docs of Object.values(sets)) cpuSecondsOf(build.scan, docs, 10);
  const figures = new Map<string, number[]>();
  for (let round = 0; round < rounds; round += 1) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      for (const [set, docs] of Object.entries(sets)) {
        const repeats = set === "prose" ? 10 : 4;
        const key = `${set.padEnd(8)} ${build.name}`;
        figures.set(key, [...(figures.get(key) ?? []), (bytes(docs) * repeats) / 1e6 / cpuSecondsOf(build.scan, docs, repeats)]);
      }
    }
  }
  for (const [key, values] of [...figures].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${key.padEnd(40)} best ${Math.max(...values).toFixed(1).padStart(6)}  median ${median(values).toFixed(1).padStart(6)} MB/s`);
  }
}

if (process.argv[1]?.endsWith("dlpScanAb.js")) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`dlpScanAb failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
