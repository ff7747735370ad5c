#!/usr/bin/env node
// The `palisade` operator CLI. It runs the compiled code: `npm run build` first in a checkout.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const entry = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "src", "cli", "index.js");
if (!existsSync(entry)) {
  process.stderr.write("palisade: the CLI is not built yet. Run `npm run build` (or `npm start`) first.\n");
  process.exit(1);
}
await import(pathToFileURL(entry).href);
