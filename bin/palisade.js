#!/usr/bin/env node
// The `palisade` operator CLI. It runs the compiled code: `npm run build` first in a checkout.
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CLI_BUNDLE, runCachedBundle } from "./codeCache.mjs";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const compiled = join(dist, "src", "cli", "index.js");
// `npm run build` bundles what tsc compiled (bin/bundle.mjs): one file, compiled with a code cache
// (bin/codeCache.mjs), loads much faster than ~900 modules. A bundle older than the compiled code (tsc
// run alone since) is stale: run the compiled code.
const bundled = join(dist, "bundle", CLI_BUNDLE);
if (!existsSync(compiled)) {
  process.stderr.write("palisade: the CLI is not built yet. Run `npm run build` (or `npm start`) first.\n");
  process.exit(1);
}
if (existsSync(bundled) && statSync(bundled).mtimeMs >= statSync(compiled).mtimeMs) runCachedBundle(bundled);
else await import(pathToFileURL(compiled).href);
