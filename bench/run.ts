import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * `npm run bench [-- --quick] [-- --json]`: every bench in one process — the gateway's cost of
 * governance (bench/gateway.ts), then each area bench that exists (dlp, audit, limits, servicebus),
 * then cold start. Prints a table, or with `--json` ONE JSON object on stdout (progress goes to stderr):
 *   { "gateway": { "cpuMicrosPerRequest": ..., "rate500": { "gatewayP50Ms": ... }, ... },
 *     "dlp": {...}, "audit": {...}, "limits": {...}, "servicebus": {...},
 *     "coldStartMs": ..., "coldStartProcessMs": ..., "coldStartFirst200Ms": ..., "coldStartFirst200": {...},
 *     "targets": {...}, "skipped": [...], "machine": {...} }
 * A module's key with a dot ("rate500.gatewayP50Ms") becomes a nested object. See docs/benchmarks.md.
 */

/** Every bench takes `{ quick }`; the gateway bench also reads the profile directory and the progress log. */
type BenchFunction = (options: { quick: boolean; cpuProfileDirectory?: string | null; log?: (line: string) => void }) => Promise<Record<string, number>>;

interface BenchModule {
  readonly area: string;
  readonly specifier: string;
  readonly exportName: string;
}

const AREA_BENCHES: readonly BenchModule[] = [
  { area: "gateway", specifier: "./gateway.js", exportName: "runGatewayBench" },
  { area: "deployed", specifier: "./deployed.js", exportName: "runDeployedBench" },
  { area: "dlp", specifier: "./dlp.js", exportName: "runDlpBench" },
  { area: "operations", specifier: "./operations.js", exportName: "runOperationsBench" },
  { area: "audit", specifier: "./audit.js", exportName: "runAuditBench" },
  { area: "limits", specifier: "./limits.js", exportName: "runLimitsBench" },
  { area: "servicebus", specifier: "./servicebus.js", exportName: "runServiceBusBench" },
  { area: "stack", specifier: "./stack.js", exportName: "runStackBench" },
  { area: "telemetry", specifier: "./telemetry.js", exportName: "runTelemetryBench" },
  { area: "contentsafety", specifier: "./contentsafety.js", exportName: "runContentSafetyBench" },
];

type Nested = { [key: string]: number | Nested };

function nest(flat: Readonly<Record<string, number>>): Nested {
  const root: Nested = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next === "object") node = next;
      else {
        const created: Nested = {};
        node[part] = created;
        node = created;
      }
    }
    node[parts.at(-1) ?? key] = value;
  }
  return root;
}

async function loadBench(module: BenchModule): Promise<BenchFunction | string> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(module.specifier)) as Record<string, unknown>;
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
    if (code === "ERR_MODULE_NOT_FOUND" && error instanceof Error && error.message.includes(module.specifier.slice(2))) return `bench/${module.area}.ts does not exist yet`;
    throw error;
  }
  const run = loaded[module.exportName];
  return typeof run === "function" ? (run as BenchFunction) : `bench/${module.area}.ts does not export ${module.exportName}`;
}

/** Runs a module script in a fresh process; it prints its figures on a line marked COLDSTART. */
function coldStartChild(script: string): Promise<{ figures: { total: number; library?: number }; processMs: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PALISADE_LOG_LEVEL: "error" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`cold start child exited with ${String(code)}: ${stderr.slice(-2000)}`));
      const marked = /^COLDSTART (.+)$/m.exec(stdout)?.[1];
      if (!marked) return reject(new Error(`cold start child printed no figure: ${stdout.slice(-500)}`));
      resolve({ figures: JSON.parse(marked) as { total: number; library?: number }, processMs: performance.now() - started });
    });
  });
}

/**
 * Time to import the compiled function modules one by one in a fresh process, and (`coldStartBundleMs`)
 * package.json `main`, the bundle of the same modules that the Functions host loads.
 */
async function measureColdStart(runs: number): Promise<{ coldStartMs: number; coldStartFunctionsLibraryMs: number; coldStartProcessMs: number; coldStartBundleMs: number }> {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const functionsDirectory = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "functions");
  const files = readdirSync(functionsDirectory)
    .filter((file) => file.endsWith(".js"))
    .sort()
    .map((file) => pathToFileURL(join(functionsDirectory, file)).href);
  const entry = pathToFileURL(join(functionsDirectory, "..", "index.js")).href;
  const main = pathToFileURL(join(root, (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { main: string }).main)).href;
  // The modules print to stdout (app.setup says "HTTP streaming enabled."), so the figure goes on a marked line.
  const script = [
    `const started = performance.now();`,
    `await import(${JSON.stringify(entry)});`,
    `const library = performance.now() - started;`,
    ...files.map((file) => `await import(${JSON.stringify(file)});`),
    `process.stdout.write("\\nCOLDSTART " + JSON.stringify({ total: performance.now() - started, library }) + "\\n");`,
  ].join("\n");
  const bundleScript = `const started = performance.now(); await import(${JSON.stringify(main)}); process.stdout.write("\\nCOLDSTART " + JSON.stringify({ total: performance.now() - started }) + "\\n");`;
  const importMs: number[] = [];
  const libraryMs: number[] = [];
  const processMs: number[] = [];
  const bundleMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    const compiled = await coldStartChild(script);
    processMs.push(compiled.processMs);
    importMs.push(compiled.figures.total);
    libraryMs.push(compiled.figures.library ?? Number.NaN);
    bundleMs.push((await coldStartChild(bundleScript)).figures.total);
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return Number((sorted[Math.floor(sorted.length / 2)] ?? Number.NaN).toFixed(1));
  };
  return { coldStartMs: median(importMs), coldStartFunctionsLibraryMs: median(libraryMs), coldStartProcessMs: median(processMs), coldStartBundleMs: median(bundleMs) };
}

interface Target {
  readonly name: string;
  readonly value: number | undefined;
  readonly limit: number;
  readonly unit: string;
  /** The same figure for the platform floor (host + SDK + Service Bus, no checks), where measured. */
  readonly floor?: number | undefined;
  /** The same figure for a plain node:http proxy in the same harness, where measured. */
  readonly plainProxy?: number | undefined;
}

function read(results: Readonly<Record<string, Readonly<Record<string, number>>>>, area: string, key: string): number | undefined {
  return results[area]?.[key];
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const json = process.argv.includes("--json");
  const cpuProfile = process.argv.find((arg) => arg.startsWith("--cpu-prof="))?.slice("--cpu-prof=".length) ?? null;
  const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length).split(",") ?? null;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // With --json, stdout carries the one JSON object: whatever a bench prints goes to stderr.
  if (json) {
    console.log = (...args: unknown[]) => console.error(...args);
    console.info = console.log;
  }

  const startedAt = performance.now();
  const results: Record<string, Record<string, number>> = {};
  const skipped: string[] = [];
  for (const module of AREA_BENCHES) {
    if (only && !only.includes(module.area)) continue;
    const run = await loadBench(module);
    if (typeof run === "string") {
      skipped.push(run);
      log(`skipped: ${run}`);
      continue;
    }
    log(`running ${module.area} bench${quick ? " (quick)" : ""}...`);
    const areaStartedAt = performance.now();
    results[module.area] = await run({ quick, cpuProfileDirectory: cpuProfile, log });
    log(`${module.area} bench done in ${((performance.now() - areaStartedAt) / 1000).toFixed(1)} s`);
  }
  const cold = only && !only.includes("coldstart") ? null : await measureColdStart(quick ? 3 : 7);
  // Spawn to the first 200 of `palisade host` beside a running stack (bench/coldStart.ts), with its breakdown.
  let first200: Record<string, number> | null = null;
  if (!only || only.includes("coldstart")) {
    log(`running cold start bench (spawn to first 200)${quick ? " (quick)" : ""}...`);
    const { runColdStartBench } = await import("./coldStart.js");
    first200 = await runColdStartBench({ quick, cpuProfileDirectory: cpuProfile, log });
  }

  const targets: Target[] = [
    { name: "gateway CPU per request (at 500 req/s)", value: read(results, "gateway", "cpuMicrosPerRequest"), limit: 300, unit: "µs", floor: read(results, "gateway", "floorCpuMicrosPerRequest"), plainProxy: read(results, "gateway", "plainProxy.rate500.cpuMicrosPerRequest") },
    { name: "p50 over direct at 500 req/s", value: read(results, "gateway", "deltaP50Ms500"), limit: 1, unit: "ms", floor: read(results, "gateway", "floor.deltaP50Ms500"), plainProxy: read(results, "gateway", "plainProxy.deltaP50Ms500") },
    { name: "p99 over direct at 500 req/s", value: read(results, "gateway", "deltaP99Ms500"), limit: 5, unit: "ms", floor: read(results, "gateway", "floor.deltaP99Ms500"), plainProxy: read(results, "gateway", "plainProxy.deltaP99Ms500") },
    { name: "gateway peak RSS", value: read(results, "gateway", "rssPeakMb"), limit: 150, unit: "MB", floor: read(results, "gateway", "floor.rssPeakMb"), plainProxy: read(results, "gateway", "plainProxy.rssPeakMb") },
    { name: "cold start (import of package.json main, the bundle)", value: cold?.coldStartBundleMs, limit: 300, unit: "ms" },
    { name: "cold start: spawn to first 200 (palisade host)", value: first200?.first200Ms, limit: 800, unit: "ms" },
    { name: "telemetry overhead (CPU per request, on vs off)", value: read(results, "telemetry", "overheadPercent"), limit: 10, unit: "%" },
  ];
  const verdicts = Object.fromEntries(targets.map((target) => [target.name, target.value === undefined || !Number.isFinite(target.value) ? "not measured" : target.value <= target.limit ? "met" : "not met"]));
  const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: availableParallelism(), memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };

  if (json) {
    const output: Record<string, unknown> = {};
    for (const [area, values] of Object.entries(results)) output[area] = nest(values);
    if (cold) Object.assign(output, cold);
    if (first200) Object.assign(output, { coldStartFirst200Ms: first200.first200Ms, coldStartFirst200: nest(first200) });
    output.targets = Object.fromEntries(
      targets.map((target) => [
        target.name,
        {
          value: target.value ?? null,
          limit: target.limit,
          unit: target.unit,
          verdict: verdicts[target.name],
          ...(target.floor === undefined ? {} : { platformFloor: target.floor }),
          ...(target.plainProxy === undefined ? {} : { plainProxy: target.plainProxy }),
        },
      ]),
    );
    output.skipped = skipped;
    output.machine = machine;
    output.quick = quick;
    output.elapsedSeconds = Number(((performance.now() - startedAt) / 1000).toFixed(1));
    process.stdout.write(`${JSON.stringify(output)}\n`);
    return;
  }

  const rows: [string, string][] = [];
  for (const [area, values] of Object.entries(results)) for (const [key, value] of Object.entries(values)) rows.push([`${area}.${key}`, formatNumber(value)]);
  if (cold) for (const [name, value] of Object.entries(cold)) rows.push([name, formatNumber(value)]);
  if (first200) for (const [name, value] of Object.entries(first200)) rows.push([`coldStartFirst200.${name}`, formatNumber(value)]);
  const width = Math.max(...rows.map(([name]) => name.length), 10);
  const lines = [`Palisade benchmarks${quick ? " (quick)" : ""} — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`, ""];
  for (const [name, value] of rows) lines.push(`${name.padEnd(width)}  ${value.padStart(12)}`);
  lines.push("", "Targets:");
  for (const target of targets) {
    const value = target.value === undefined ? "-" : `${formatNumber(target.value)} ${target.unit}`;
    const references = [
      ["platform floor", target.floor],
      ["plain proxy", target.plainProxy],
    ].flatMap(([label, figure]) => (typeof figure === "number" && Number.isFinite(figure) ? [`${String(label)} ${formatNumber(figure)} ${target.unit}`] : []));
    const suffix = references.length > 0 ? `  (${references.join(", ")})` : "";
    lines.push(`  ${target.name.padEnd(46)} ${value.padStart(12)}  (<= ${target.limit} ${target.unit})  ${verdicts[target.name] ?? ""}${suffix}`);
  }
  for (const note of skipped) lines.push(`skipped: ${note}`);
  lines.push(`(${((performance.now() - startedAt) / 1000).toFixed(1)} s)`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
