import { readFileSync } from "node:fs";
import { areaOf } from "./summariseCpuProfile.js";

/**
 * `node dist/bench/support/profileStretches.js FILE.cpuprofile [MIN_MS=10] [TOP=6] [--timeline] [--window=FROM-TO]`: the stretches of a
 * V8 CPU profile (from `node --cpu-prof`, e.g. the deployed bench's `--cpu-prof=DIR`) in which the
 * thread never went idle for `MIN_MS` or more — what holds an event loop up — each with what it ran:
 * the task it began in (the frame under the root: a timer, a socket's data, ticks and promises), the
 * app's own functions on its stacks (inclusive), and the self time by area (GC, a package, the app's
 * folders). Then the same, summed over all such stretches (`--timeline`: each stretch, in time order;
 * `--window=FROM-TO`: only the samples in it, in monotonic µs as the deployed bench logs a scenario's). A stretch is wall time: a thread that the
 * kernel preempted mid-task is still in its task.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Stretch {
  readonly startMs: number;
  readonly durationMs: number;
  /** Sampled time by the task the samples began in, by the app's functions (inclusive) and by area (self), ms. */
  readonly tasks: ReadonlyMap<string, number>;
  readonly appFunctions: ReadonlyMap<string, number>;
  readonly areas: ReadonlyMap<string, number>;
}

const add = (map: Map<string, number>, key: string, value: number): void => void map.set(key, (map.get(key) ?? 0) + value);

/** `window`: only the samples within it, on the profile's clock (µs; the machine's monotonic clock): stretches are clipped to it. */
export function findStretches(profile: CpuProfile, minMs: number, window: { fromUs: number; toUs: number } | null = null): Stretch[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const nameOf = (node: ProfileNode): string => `${node.callFrame.functionName || "(anonymous)"} ${areaOf(node.callFrame.url, node.callFrame.functionName)}:${node.callFrame.lineNumber + 1}`;
  const stackOf = (id: number): ProfileNode[] => {
    const stack: ProfileNode[] = [];
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const node = byId.get(current);
      if (node) stack.unshift(node);
    }
    return stack;
  };
  const stretches: Stretch[] = [];
  let open: { startMs: number; endMs: number; samples: { id: number; ms: number }[] } | null = null;
  const close = (): void => {
    if (open && open.endMs - open.startMs >= minMs) {
      const tasks = new Map<string, number>();
      const appFunctions = new Map<string, number>();
      const areas = new Map<string, number>();
      for (const { id, ms } of open.samples) {
        const stack = stackOf(id);
        const leaf = stack[stack.length - 1];
        if (!leaf) continue;
        add(areas, areaOf(leaf.callFrame.url, leaf.callFrame.functionName), ms);
        const task = stack[1];
        add(tasks, task ? nameOf(task) : nameOf(leaf), ms);
        const seen = new Set<string>();
        for (const frame of stack) {
          if (!/\/dist\/(src|local)\//.test(frame.callFrame.url)) continue;
          const name = nameOf(frame);
          if (seen.has(name)) continue;
          seen.add(name);
          add(appFunctions, name, ms);
        }
      }
      stretches.push({ startMs: open.startMs, durationMs: open.endMs - open.startMs, tasks, appFunctions, areas });
    }
    open = null;
  };
  let atMs = 0;
  profile.samples.forEach((id, index) => {
    const deltaMs = (profile.timeDeltas[index] ?? 0) / 1000;
    atMs += deltaMs;
    const node = byId.get(id);
    const sampledUs = profile.startTime + atMs * 1000;
    const outside = window !== null && (sampledUs < window.fromUs || sampledUs > window.toUs);
    if (!node || node.callFrame.functionName === "(idle)" || outside) {
      close();
      return;
    }
    open ??= { startMs: atMs - deltaMs, endMs: atMs, samples: [] };
    open.endMs = atMs;
    open.samples.push({ id, ms: deltaMs });
  });
  close();
  return stretches;
}

const top = (map: ReadonlyMap<string, number>, count: number): string =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, count).map(([name, ms]) => `${ms.toFixed(1)} ms ${name}`).join("; ");

if (process.argv[1]?.endsWith("profileStretches.js")) {
  const [file, minMs = "10", count = "6"] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: node dist/bench/support/profileStretches.js FILE.cpuprofile [MIN_MS] [TOP]\n");
    process.exit(2);
  }
  const windowArgument = /^--window=(\d+)-(\d+)$/.exec(process.argv.find((argument) => argument.startsWith("--window=")) ?? "");
  const window = windowArgument ? { fromUs: Number(windowArgument[1]), toUs: Number(windowArgument[2]) } : null;
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const stretches = findStretches(profile, Number(minMs), window);
  if (window) {
    // What share of the window the thread was busy at all, for scale.
    let atUs = profile.startTime;
    let busyUs = 0;
    const idleIds = new Set(profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id));
    profile.samples.forEach((id, index) => {
      atUs += profile.timeDeltas[index] ?? 0;
      if (atUs >= window.fromUs && atUs <= window.toUs && !idleIds.has(id)) busyUs += profile.timeDeltas[index] ?? 0;
    });
    process.stdout.write(`window ${((window.toUs - window.fromUs) / 1e6).toFixed(2)} s, busy ${((busyUs / (window.toUs - window.fromUs)) * 100).toFixed(0)} % of it\n`);
  }
  const total = { tasks: new Map<string, number>(), appFunctions: new Map<string, number>(), areas: new Map<string, number>() };
  for (const stretch of stretches) {
    for (const key of ["tasks", "appFunctions", "areas"] as const) for (const [name, ms] of stretch[key]) add(total[key], name, ms);
  }
  const lines = [`${stretches.length} stretches ≥ ${minMs} ms, ${stretches.reduce((sum, s) => sum + s.durationMs, 0).toFixed(0)} ms in all; the longest:`];
  for (const stretch of [...stretches].sort((a, b) => b.durationMs - a.durationMs).slice(0, Number(count))) {
    lines.push(`- at ${(stretch.startMs / 1000).toFixed(3)} s, ${stretch.durationMs.toFixed(1)} ms`, `  tasks: ${top(stretch.tasks, 4)}`, `  app (inclusive): ${top(stretch.appFunctions, 6)}`, `  self by area: ${top(stretch.areas, 5)}`);
  }
  if (process.argv.includes("--timeline")) {
    lines.push("In time order (start s, ms, first task, first app function):");
    for (const stretch of stretches) lines.push(`  ${(stretch.startMs / 1000).toFixed(3)} ${stretch.durationMs.toFixed(1).padStart(6)}  ${top(stretch.tasks, 1)} | ${top(stretch.appFunctions, 1)} | ${top(stretch.areas, 2)}`);
  }
  lines.push("All stretches:", `  tasks: ${top(total.tasks, 8)}`, `  app (inclusive): ${top(total.appFunctions, 12)}`, `  self by area: ${top(total.areas, 10)}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
