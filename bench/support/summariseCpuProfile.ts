import { readFileSync } from "node:fs";

/**
 * `node dist/bench/support/summariseCpuProfile.js FILE.cpuprofile [TOP]`: self time of a V8 CPU
 * profile (from `node --cpu-prof`) grouped by where the code lives (a package under node_modules,
 * the app's own folders, node internals, GC/idle), then the hottest functions.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export function areaOf(url: string, functionName: string): string {
  if (url === "") return functionName === "(garbage collector)" ? "(gc)" : functionName.startsWith("(") ? functionName : "(native)";
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch?.[1]) return packageMatch[1];
  if (url.startsWith("node:")) return "node internals";
  const app = /\/dist\/((?:src|local|bench)\/[^/]+(?:\/[^/]+)?)/.exec(url);
  return app?.[1] ? app[1].replace(/\.js$/, "") : url;
}

export function summariseCpuProfile(profile: CpuProfile, top = 15): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const totalMicros = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
    const name = `${functionName || "(anonymous)"} ${area}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  }
  const percent = (micros: number): string => `${((micros / totalMicros) * 100).toFixed(1).padStart(5)} %`;
  const lines = [`${(totalMicros / 1000).toFixed(0)} ms sampled`, "", "Self time by area:"];
  for (const [area, micros] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${percent(micros)}  ${area}`);
  lines.push("", "Hottest functions (self time):");
  for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${percent(micros)}  ${name}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("summariseCpuProfile.js")) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: node dist/bench/support/summariseCpuProfile.js FILE.cpuprofile [TOP]\n");
    process.exit(2);
  }
  process.stdout.write(`${summariseCpuProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, Number(process.argv[3] ?? 15))}\n`);
}
