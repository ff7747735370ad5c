#!/usr/bin/env node
// The `palisade` operator CLI. It runs the compiled code: `npm run build` first in a checkout.
// CommonJS (bin/package.json): a start that runs the bundle never initialises Node's ES module loader
// (~20 ms of CPU).
"use strict";
const { existsSync, statSync } = require("node:fs");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");
const { CLI_BUNDLE, runCachedBundle } = require("./codeCache.cjs");

const dist = join(__dirname, "..", "dist");
const compiled = join(dist, "src", "cli", "index.js");
// `npm run build` bundles what tsc compiled (bin/bundle.mjs): one file, compiled with a code cache
// (bin/codeCache.cjs), loads much faster than ~900 modules. A bundle older than the compiled code (tsc
// run alone since) is stale: run the compiled code.
const bundled = join(dist, "bundle", CLI_BUNDLE);
if (!existsSync(compiled)) {
  process.stderr.write("palisade: the CLI is not built yet. Run `npm run build` (or `npm start`) first.\n");
  process.exit(1);
}
if (existsSync(bundled) && statSync(bundled).mtimeMs >= statSync(compiled).mtimeMs) runCachedBundle(bundled);
else
  import(pathToFileURL(compiled).href).catch((error) => {
    process.stderr.write(`palisade: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
