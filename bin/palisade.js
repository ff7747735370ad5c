#!/usr/bin/env node
// The `palisade` operator CLI. It runs the compiled code: `npm run build` first in a checkout.
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const compiled = join(dist, "src", "cli", "index.js");
// `npm run build` bundles what tsc compiled (bin/bundle.mjs): a few files load much faster than ~900
// modules. A bundle older than the compiled code (tsc run alone since) is stale: run the compiled code.
const bundled = join(dist, "bundle", "palisade.js");
if (!existsSync(compiled)) {
  process.stderr.write("palisade: the CLI is not built yet. Run `npm run build` (or `npm start`) first.\n");
  process.exit(1);
}
const fresh = existsSync(bundled) && statSync(bundled).mtimeMs >= statSync(compiled).mtimeMs;
await import(pathToFileURL(fresh ? bundled : compiled).href);
