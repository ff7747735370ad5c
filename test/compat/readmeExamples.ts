import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
/** Inside the repository, so the examples' imports resolve from its node_modules as in a user's project. */
const SCRATCH = join(ROOT, "node_modules", ".cache", "palisade-readme-examples");
/** The host the README's examples name; the test's stack listens elsewhere. */
export const README_HOST = "http://127.0.0.1:7071/api";

/** The ```js blocks of the README's "Calling Palisade from an app" section, in order. */
export async function readmeExamples(): Promise<string[]> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("## Calling Palisade from an app");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
}

/** Runs one example as `node example.mjs` with `hostUrl` in place of the README's host; its stdout lines. */
export async function runExample(source: string, index: number, hostUrl: string, environment: NodeJS.ProcessEnv): Promise<string[]> {
  await mkdir(SCRATCH, { recursive: true });
  const file = join(SCRATCH, `example-${index}-${process.pid}.mjs`);
  await writeFile(file, source.replaceAll(README_HOST, hostUrl));
  const { stdout } = await run(process.execPath, [file], { cwd: ROOT, env: environment, timeout: 30_000 });
  return stdout.split("\n").filter((line) => line !== "");
}
