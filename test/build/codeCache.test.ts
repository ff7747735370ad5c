import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const { codeCacheName: nameOf } = createRequire(import.meta.url)("../../bin/codeCache.cjs") as { codeCacheName: (command: string, nodeFlags: readonly string[], sourceDigest: string) => string };
const SOURCE_DIGEST = "0123456789abcdef0123456789abcdef";
const codeCacheName = (command: string, nodeFlags: readonly string[], sourceDigest = SOURCE_DIGEST): string => nameOf(command, nodeFlags, sourceDigest);
const CODE_CACHE = pathToFileURL(join(import.meta.dirname, "..", "..", "bin", "codeCache.cjs")).href;

/** A bundle as bin/bundle.mjs writes it: one function expression taking CommonJS's five arguments. */
const BUNDLE = `(function (exports, require, module, __filename, __dirname) {"use strict";
const { basename } = require("node:path");
function answer() { return [1, 2, 3].map((n) => n * 2).join(","); }
process.stdout.write(JSON.stringify({ answer: answer(), file: basename(__filename), exportsIsModuleExports: exports === module.exports }));
})`;

let directory = "";
let bundle = "";

/** Runs the bundle as bin/palisade.js does, for the command `demo`. */
async function runBundle(): Promise<unknown> {
  const script = `import { runCachedBundle } from ${JSON.stringify(CODE_CACHE)}; runCachedBundle(${JSON.stringify(bundle)});`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script, "entry", "demo"]);
  return JSON.parse(stdout);
}

/** Whether V8 (in a fresh process, as a start would) takes the cache stored at `cache` (after its 32-byte SHA-256) for the bundle. */
async function acceptedByV8(cache: string): Promise<boolean> {
  const script = `const vm = require("node:vm"), fs = require("node:fs"); const s = new vm.Script(fs.readFileSync(${JSON.stringify(bundle)}, "utf8"), { filename: ${JSON.stringify(bundle)}, cachedData: fs.readFileSync(${JSON.stringify(cache)}).subarray(32) }); process.stdout.write(String(!s.cachedDataRejected));`;
  const { stdout } = await run(process.execPath, ["-e", script]);
  return stdout === "true";
}

async function ownCaches(): Promise<string[]> {
  return (await readdir(join(directory, "cache")).catch(() => [] as string[])).filter((name) => name.endsWith(".cache")).map((name) => join(directory, "cache", name));
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "palisade-codecache-"));
  bundle = join(directory, "palisade.cjs");
  await writeFile(bundle, BUNDLE);
});

afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe("bin/codeCache.cjs: the CLI bundle compiled with a V8 code cache", () => {
  it("runs the bundle with CommonJS's arguments and, on the command's first run, writes a cache V8 takes", async () => {
    expect(await ownCaches()).toEqual([]);
    expect(await runBundle()).toEqual({ answer: "2,4,6", file: "palisade.cjs", exportsIsModuleExports: true });
    const caches = await ownCaches();
    expect(caches).toHaveLength(1);
    expect(caches[0]).toMatch(/palisade\.cjs\.demo\.[\w.-]+\.cache$/);
    // A new bundle of the same length is not handed this cache: it compiles and writes its own.
    await writeFile(bundle, BUNDLE.replace("n * 2", "n * 3"));
    expect(await runBundle()).toEqual({ answer: "3,6,9", file: "palisade.cjs", exportsIsModuleExports: true });
    expect(await ownCaches()).toHaveLength(2);
    await rm(join(directory, "cache"), { recursive: true });
    await writeFile(bundle, BUNDLE);
    expect(await runBundle()).toEqual({ answer: "2,4,6", file: "palisade.cjs", exportsIsModuleExports: true });
    expect(await ownCaches()).toEqual(caches);
    expect(await acceptedByV8(caches[0] ?? "")).toBe(true);
    // The next run reads it, and runs the same.
    expect(await runBundle()).toEqual({ answer: "2,4,6", file: "palisade.cjs", exportsIsModuleExports: true });
  }, 60_000);

  it("does not hand V8 a damaged cache (it would crash deserializing it), runs without, and writes a good one", async () => {
    const [cache] = await ownCaches();
    if (!cache) throw new Error("no cache from the first test");
    const good = await readFile(cache);
    // Past V8's header (which it does check): the bytes a release build deserializes unchecked.
    const damaged = Buffer.from(good);
    damaged.fill(0x5a, 32 + 64, Math.min(damaged.length, 32 + 64 + 256));
    await writeFile(cache, damaged);
    expect(await runBundle()).toEqual({ answer: "2,4,6", file: "palisade.cjs", exportsIsModuleExports: true });
    expect((await readFile(cache)).equals(damaged)).toBe(false);
    expect(await acceptedByV8(cache)).toBe(true);
  }, 60_000);

  it("names a cache for the node flags that change V8's (which V8 checks), not for preloads and profilers", () => {
    const worker = codeCacheName("host", ["--heap-growing-percent=50"]);
    expect(codeCacheName("host", ["--heap-growing-percent=50", "--import", "/trace.js", "--cpu-prof", "--cpu-prof-dir=/tmp/prof"])).toBe(worker);
    expect(codeCacheName("host", ["--enable-source-maps", "--heap-growing-percent=50", "--require=/x.cjs"])).toBe(worker);
    expect(codeCacheName("host", [])).not.toBe(worker);
    expect(codeCacheName("host", ["--heap-growing-percent=50", "--max-old-space-size=512"])).not.toBe(worker);
    expect(codeCacheName("keys", ["--heap-growing-percent=50"])).not.toBe(worker);
    // Another bundle (V8 would take a cache for any source of the same length).
    expect(codeCacheName("host", ["--heap-growing-percent=50"], "fedcba9876543210fedcba9876543210")).not.toBe(worker);
  });
});
