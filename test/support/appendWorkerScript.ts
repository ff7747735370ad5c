import { build } from "esbuild";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

let built: Promise<URL> | null = null;

/**
 * The append worker (src/composition/auditAppendWorker.ts) built to JavaScript for tests, which run the
 * TypeScript sources: a worker thread runs JavaScript only. Packages stay imports, resolved from the
 * repository's node_modules (the file is written under it). Built once per test file.
 */
export function appendWorkerScript(): Promise<URL> {
  built ??= (async () => {
    const root = join(import.meta.dirname, "..", "..");
    const directory = join(root, "node_modules", ".cache", "palisade-tests");
    await mkdir(directory, { recursive: true });
    const outfile = join(directory, `auditAppendWorker-${process.pid}.mjs`);
    await build({ entryPoints: [join(root, "src", "composition", "auditAppendWorker.ts")], outfile, bundle: true, platform: "node", format: "esm", packages: "external", logLevel: "error" });
    return pathToFileURL(outfile);
  })();
  return built;
}
